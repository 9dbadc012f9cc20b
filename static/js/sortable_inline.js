/*
 * Drag-and-drop order for the admin's tabular inlines whose fieldset has the class
 * "sortable-positions" (apps/attributes/admin.py). Each row gets a handle; dropping a row
 * renumbers the "position" inputs of the rows in their new order, 0, 1, 2 ..., and the form's
 * Save stores them. Rows still blank (added, nothing typed) are left alone, so that they stay
 * unchanged forms. A static file, not an inline script: the Content-Security-Policy allows no
 * inline script.
 */
"use strict";
(function () {
    const SORTABLE = "fieldset.sortable-positions";
    let dragged = null;

    function rows(tbody) {
        return Array.from(tbody.querySelectorAll("tr.form-row:not(.empty-form)"));
    }

    function isBlank(row) {
        if (row.classList.contains("has_original")) {
            return false;
        }
        return !Array.from(row.querySelectorAll("input[type=text], input:not([type])")).some(
            (input) => !input.name.endsWith("-position") && input.value.trim() !== ""
        );
    }

    function renumber(tbody) {
        let position = 0;
        for (const row of rows(tbody)) {
            const input = row.querySelector('input[name$="-position"]');
            if (!input || isBlank(row)) {
                continue;
            }
            input.value = String(position);
            position += 1;
        }
    }

    function addHandle(row) {
        const cell = row.querySelector("td.original");
        if (!cell || cell.querySelector(".drag-handle")) {
            return;
        }
        const handle = document.createElement("span");
        handle.className = "drag-handle";
        handle.draggable = true;
        handle.title = "Drag to reorder";
        handle.setAttribute("aria-hidden", "true");
        handle.textContent = "\u2630";
        cell.prepend(handle);
    }

    function setUp(fieldset) {
        const tbody = fieldset.querySelector("tbody");
        if (!tbody) {
            return;
        }
        rows(tbody).forEach(addHandle);
        tbody.addEventListener("dragstart", (event) => {
            const handle = event.target.closest && event.target.closest(".drag-handle");
            if (!handle) {
                return;
            }
            dragged = handle.closest("tr");
            dragged.classList.add("dragging");
            event.dataTransfer.effectAllowed = "move";
            event.dataTransfer.setData("text/plain", "");
            event.dataTransfer.setDragImage(dragged, 10, 10);
        });
        tbody.addEventListener("dragover", (event) => {
            const target = event.target.closest && event.target.closest("tr.form-row");
            if (!dragged || !target || target === dragged || target.parentNode !== tbody) {
                return;
            }
            event.preventDefault();
            const box = target.getBoundingClientRect();
            const after = event.clientY > box.top + box.height / 2;
            tbody.insertBefore(dragged, after ? target.nextSibling : target);
        });
        tbody.addEventListener("drop", (event) => {
            if (dragged) {
                event.preventDefault();
            }
        });
        tbody.addEventListener("dragend", () => {
            if (!dragged) {
                return;
            }
            dragged.classList.remove("dragging");
            dragged = null;
            renumber(tbody);
        });
    }

    document.addEventListener("DOMContentLoaded", () => {
        document.querySelectorAll(SORTABLE).forEach(setUp);
    });
    // Rows added with "Add another" (Django's inlines.js sends this event).
    document.addEventListener("formset:added", (event) => {
        if (event.target.closest && event.target.closest(SORTABLE)) {
            addHandle(event.target);
        }
    });
})();
