"""Review jobs: the nightly check of the products' stored rating figures."""

import logging

from procrastinate.contrib.django import app

from .services import rating_figures_drift

logger = logging.getLogger(__name__)

# Products listed one by one in the log, at most; the rest are counted.
_DRIFT_LOGGED = 20


@app.periodic(cron="0 4 * * *")
@app.task(name="reviews.rating_figures_check", queue="upkeep", queueing_lock="reviews.figures")
def rating_figures_check_job(timestamp: int) -> int:
    """Compare each product's stored rating figures with its reviews; log any drift as an error.

    Nothing is repaired: drift means a write path bypassed the services, which a person should
    look at (``manage.py check_rating_figures --repair`` fixes the figures). Return how many
    products drifted.
    """
    drifted = rating_figures_drift()
    for row in drifted[:_DRIFT_LOGGED]:
        logger.error(
            "Rating figures of product %s drifted: stored %s, correct %s",
            row["product_id"],
            row["stored"],
            row["correct"],
        )
    if drifted:
        logger.error(
            "%d product(s) have drifted rating figures; run manage.py check_rating_figures "
            "--repair",
            len(drifted),
        )
    else:
        logger.info("Every product's rating figures are exact")
    return len(drifted)
