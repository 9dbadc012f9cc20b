"""Review writes. Each one updates the product's stored rating figures in the same transaction,
with relative ``UPDATE ... SET x = x + n`` statements, so the figures stay exact whatever the
interleaving of concurrent writers."""

from django.db import connection, transaction
from django.db.models import Count, F, Sum

from apps.products.models import Product
from apps.users.models import User

from .models import Review


def _adjust_product_figures(*, product_id: int, count_delta: int, sum_delta: int) -> None:
    Product.objects.filter(pk=product_id).update(
        review_count=F("review_count") + count_delta, rating_sum=F("rating_sum") + sum_delta
    )


@transaction.atomic
def review_create(*, product: Product, user: User, rating: int, comment: str = "") -> Review:
    """Create a review and fold it into the product's rating figures.

    A second review of the same product by the same user violates the database's unique
    constraint, also when both arrive at the same instant; the API reports it as a 400.
    """
    review = Review.objects.create(product=product, user=user, rating=rating, comment=comment)
    _adjust_product_figures(product_id=product.pk, count_delta=1, sum_delta=rating)
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
            product_id=stored.product_id, count_delta=0, sum_delta=rating - stored.rating
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
    _adjust_product_figures(product_id=stored.product_id, count_delta=-1, sum_delta=-stored.rating)


@transaction.atomic
def reviews_delete_for_user(*, user: User) -> None:
    """Delete every review by ``user``, taking each out of its product's figures."""
    reviews = Review.objects.filter(user=user)
    # Lock first: PostgreSQL refuses FOR UPDATE together with the GROUP BY below.
    list(reviews.select_for_update().values_list("pk", flat=True))
    per_product = reviews.values("product_id").annotate(count=Count("id"), total=Sum("rating"))
    # A fixed order of product updates keeps two such deletions from deadlocking.
    for row in per_product.order_by("product_id"):
        _adjust_product_figures(
            product_id=row["product_id"], count_delta=-row["count"], sum_delta=-row["total"]
        )
    reviews.delete()


@transaction.atomic
def rating_figures_recompute(*, product_ids: list[int] | None = None) -> int:
    """Recompute stored rating figures from the reviews; return how many products changed."""
    products = Product._meta.db_table
    reviews = Review._meta.db_table
    only = "AND p.id = ANY(%s)" if product_ids is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {products} AS p
            SET review_count = COALESCE(r.count, 0), rating_sum = COALESCE(r.total, 0)
            FROM {products} AS q
            LEFT JOIN (
                SELECT product_id, COUNT(*) AS count, SUM(rating) AS total
                FROM {reviews} GROUP BY product_id
            ) AS r ON r.product_id = q.id
            WHERE p.id = q.id {only}
              AND (p.review_count, p.rating_sum)
                  IS DISTINCT FROM (COALESCE(r.count, 0), COALESCE(r.total, 0))
            """,
            [product_ids] if product_ids is not None else [],
        )
        return cursor.rowcount
