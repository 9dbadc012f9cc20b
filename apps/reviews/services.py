"""Review writes. Each one updates the product's stored rating figures (count, sum and the 1..5
histogram) in the same transaction, with relative ``UPDATE ... SET x = x + n`` statements, so
the figures stay exact whatever the interleaving of concurrent writers."""

from collections import Counter

from django.db import connection, transaction
from django.db.models import F

from apps.products.models import Product
from apps.users.models import User

from .models import Review


def _adjust_product_figures(*, product_id: int, added: Counter[int], removed: Counter[int]) -> None:
    """Add the ratings in ``added`` to the product's figures and take out those in ``removed``."""
    changes = {
        f"rating_{stars}_count": F(f"rating_{stars}_count") + added[stars] - removed[stars]
        for stars in range(1, 6)
        if added[stars] != removed[stars]
    }
    if not changes:
        return
    count_delta = added.total() - removed.total()
    sum_delta = sum(s * n for s, n in added.items()) - sum(s * n for s, n in removed.items())
    Product.objects.filter(pk=product_id).update(
        review_count=F("review_count") + count_delta,
        rating_sum=F("rating_sum") + sum_delta,
        **changes,
    )


@transaction.atomic
def review_create(*, product: Product, user: User, rating: int, comment: str = "") -> Review:
    """Create a review and fold it into the product's rating figures.

    A second review of the same product by the same user violates the database's unique
    constraint, also when both arrive at the same instant; the API reports it as a 400.
    """
    review = Review.objects.create(product=product, user=user, rating=rating, comment=comment)
    _adjust_product_figures(product_id=product.pk, added=Counter([rating]), removed=Counter())
    return review


@transaction.atomic
def review_update(
    *, review: Review, rating: int | None = None, comment: str | None = None
) -> Review:
    """Change a review's rating or comment, keeping the product's figures exact."""
    # Lock the row and read the stored rating: the instance may be stale under concurrency.
    stored = Review.objects.select_for_update().get(pk=review.pk)
    if rating is not None and rating != stored.rating:
        _adjust_product_figures(
            product_id=stored.product_id, added=Counter([rating]), removed=Counter([stored.rating])
        )
        stored.rating = rating
    if comment is not None:
        stored.comment = comment
    stored.save(update_fields=["rating", "comment", "updated_at"])
    stored.user = review.user  # already loaded; saves the caller a query when rendering
    return stored


@transaction.atomic
def review_delete(*, review: Review) -> None:
    """Delete a review and take it out of the product's rating figures."""
    stored = Review.objects.select_for_update().filter(pk=review.pk).first()
    if stored is None:
        return  # already deleted by a concurrent request
    stored.delete()
    _adjust_product_figures(
        product_id=stored.product_id, added=Counter(), removed=Counter([stored.rating])
    )


@transaction.atomic
def reviews_delete_for_user(*, user: User) -> None:
    """Delete every review by ``user``, taking each out of its product's figures."""
    # Locked, then grouped per product; a fixed product order keeps two such deletions from
    # deadlocking each other.
    ratings = Review.objects.select_for_update().filter(user=user).order_by("product_id")
    per_product: dict[int, Counter[int]] = {}
    for product_id, rating in ratings.values_list("product_id", "rating"):
        per_product.setdefault(product_id, Counter())[rating] += 1
    for product_id, removed in per_product.items():
        _adjust_product_figures(product_id=product_id, added=Counter(), removed=removed)
    Review.objects.filter(user=user).delete()


@transaction.atomic
def rating_figures_recompute(*, product_ids: list[int] | None = None) -> int:
    """Recompute stored rating figures from the reviews; return how many products changed."""
    products = Product._meta.db_table
    reviews = Review._meta.db_table
    stars = ", ".join(f"rating_{n}_count" for n in range(1, 6))
    stored = ", ".join(f"p.rating_{n}_count" for n in range(1, 6))
    fresh = ", ".join(f"COALESCE(r.stars_{n}, 0)" for n in range(1, 6))
    per_star = ", ".join(f"COUNT(*) FILTER (WHERE rating = {n}) AS stars_{n}" for n in range(1, 6))
    only = "AND p.id = ANY(%s)" if product_ids is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {products} AS p
            SET ({stars}, review_count, rating_sum) =
                ({fresh}, COALESCE(r.count, 0), COALESCE(r.total, 0))
            FROM {products} AS q
            LEFT JOIN (
                SELECT product_id, COUNT(*) AS count, SUM(rating) AS total, {per_star}
                FROM {reviews} GROUP BY product_id
            ) AS r ON r.product_id = q.id
            WHERE p.id = q.id {only}
              AND ({stored}, p.review_count, p.rating_sum)
                  IS DISTINCT FROM ({fresh}, COALESCE(r.count, 0), COALESCE(r.total, 0))
            """,
            [product_ids] if product_ids is not None else [],
        )
        return cursor.rowcount
