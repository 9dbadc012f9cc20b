"""Load a deterministic demo catalogue into an empty database (``make run`` calls this)."""

import random
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils.text import slugify

from apps.attributes.models import ProductType
from apps.demo.product_types import load_demo_product_types, typed_product_data
from apps.products.models import Category, Product
from apps.products.services import product_create
from apps.reviews.models import Review
from apps.reviews.services import rating_figures_recompute
from apps.users.models import User

# Three levels: department > family > kind. Products hang off the leaves.
TREE: dict[str, dict[str, list[str]]] = {
    "Electronics": {
        "Audio": ["Headphones", "Speakers", "Microphones"],
        "Computers": ["Laptops", "Monitors", "Keyboards"],
        "Phones": ["Smartphones", "Cases", "Chargers"],
        "Cameras": ["Mirrorless", "Lenses", "Tripods"],
    },
    "Home & Kitchen": {
        "Cookware": ["Pans", "Pots", "Knives"],
        "Furniture": ["Chairs", "Desks", "Shelves"],
        "Lighting": ["Lamps", "Bulbs", "Fairy Lights"],
        "Bedding": ["Pillows", "Duvets", "Sheets"],
    },
    "Sports & Outdoors": {
        "Camping": ["Tents", "Sleeping Bags", "Stoves"],
        "Cycling": ["Helmets", "Bike Lights", "Locks"],
        "Fitness": ["Dumbbells", "Yoga Mats", "Resistance Bands"],
        "Running": ["Running Shoes", "Running Jackets", "Water Bottles"],
    },
    "Fashion": {
        "Men": ["Shirts", "Trousers", "Jackets"],
        "Women": ["Dresses", "Skirts", "Coats"],
        "Accessories": ["Bags", "Belts", "Scarves"],
        "Footwear": ["Sneakers", "Boots", "Sandals"],
    },
    "Books & Media": {
        "Fiction": ["Crime", "Science Fiction", "Romance"],
        "Non-fiction": ["History", "Cookbooks", "Travel"],
        "Music": ["Vinyl", "CDs", "Sheet Music"],
        "Games": ["Board Games", "Puzzles", "Card Games"],
    },
    "Toys & Baby": {
        "Baby": ["Strollers", "Baby Monitors", "Bottles"],
        "Toys": ["Building Blocks", "Dolls", "Remote Control"],
        "Outdoor Play": ["Swings", "Sandpits", "Scooters"],
        "Learning": ["Science Kits", "Art Supplies", "Puzzles for Kids"],
    },
}
ADJECTIVES = [
    "Classic", "Compact", "Deluxe", "Eco", "Ergonomic", "Essential", "Foldable", "Heavy-duty",
    "Lightweight", "Modern", "Portable", "Premium", "Pro", "Rugged", "Smart", "Ultra", "Vintage",
    "Wireless",
]  # fmt: skip
MATERIALS = [
    "Bamboo", "Carbon", "Ceramic", "Cotton", "Leather", "Linen", "Oak", "Recycled", "Steel",
    "Titanium", "Walnut", "Wool",
]  # fmt: skip
COLOURS = ["Black", "Blue", "Graphite", "Green", "Ivory", "Red", "Sand", "Silver", "White"]
# The typed products: (product type, the leaves they hang off, nouns for their names), each
# type's share of TYPED_PRODUCTS taken from the catalogue's products.
TYPED: list[tuple[str, list[str], list[str]]] = [
    ("apparel", ["men-shirts", "men-jackets", "women-dresses", "women-coats"],
     ["Shirt", "Jacket", "Dress", "Coat"]),
    ("shoes", ["footwear-sneakers", "footwear-boots", "running-running-shoes"],
     ["Sneaker", "Boot", "Runner"]),
    ("phone", ["phones-smartphones"], ["Smartphone", "Phone"]),
    ("book", ["fiction-crime", "fiction-science-fiction", "non-fiction-history"],
     ["Novel", "Chronicle", "Story"]),
    ("furniture", ["furniture-chairs", "furniture-desks", "furniture-shelves"],
     ["Chair", "Desk", "Shelf"]),
]  # fmt: skip
TYPED_PRODUCTS = 40
REVIEWERS = [
    "alice", "bruno", "chen", "dara", "emeka", "farah", "goran", "hana", "ines", "jonas", "kofi",
    "lena",
]  # fmt: skip
COMMENTS = {
    1: ["Broke within a week.", "Not as described.", "Would not buy again."],
    2: ["Disappointing quality.", "Works, barely.", "Expected more for the price."],
    3: ["Does the job.", "Average, nothing special.", "Fine for occasional use."],
    4: ["Very good, small flaws.", "Solid value.", "Happy with it overall."],
    5: ["Excellent!", "Exactly what I needed.", "Best purchase this year."],
}


class Command(BaseCommand):
    help = "Load a deterministic demo catalogue (categories, products, users, reviews) if empty."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--products", type=int, default=3000, help="How many products.")
        parser.add_argument("--seed", type=int, default=20261121, help="Random seed.")

    def handle(self, *args: Any, products: int, seed: int, **options: Any) -> None:
        if Product.objects.exists() or Category.objects.exists() or ProductType.objects.exists():
            self.stdout.write("The catalogue already has data; leaving it as it is.")
            return
        with transaction.atomic():
            counts = self._load(random.Random(seed), products)
        self.stdout.write(
            self.style.SUCCESS(
                "Loaded {categories} categories, {product_types} product types, {products} "
                "products, {users} users and {reviews} reviews.".format(**counts)
            )
        )

    def _load(self, rng: random.Random, product_total: int) -> dict[str, int]:
        leaves = self._create_tree()
        product_types = load_demo_product_types()
        users = User.objects.bulk_create(
            [
                User(
                    email=f"{name}@example.com",
                    username=name,
                    password=make_password(None),  # unusable: demo reviewers cannot sign in
                    is_verified=True,
                )
                for name in REVIEWERS
            ]
        )
        typed_total = min(TYPED_PRODUCTS, product_total // 4)
        products = Product.objects.bulk_create(
            [
                self._product(rng, number, rng.choice(leaves))
                for number in range(1, product_total - typed_total + 1)
            ],
            batch_size=1000,
        )
        products += self._typed_products(rng, product_total - typed_total, typed_total)
        self._spread_creation_dates()
        reviews = []
        for product in products:
            # Skewed popularity: most products get a few reviews, some get many, some none.
            how_many = min(len(users), int(rng.paretovariate(1.3)) - 1)
            mood = rng.choice([2, 3, 4, 4, 5])
            for user in rng.sample(users, how_many):
                rating = max(1, min(5, round(rng.gauss(mood, 1))))
                comment = rng.choice(COMMENTS[rating])
                reviews.append(Review(product=product, user=user, rating=rating, comment=comment))
        Review.objects.bulk_create(reviews, batch_size=2000)
        rating_figures_recompute()
        return {
            "categories": Category.objects.count(),
            "product_types": len(product_types),
            "products": len(products),
            "users": len(users),
            "reviews": len(reviews),
        }

    def _create_tree(self) -> list[Category]:
        leaves = []
        for department, families in TREE.items():
            root = Category.objects.create(name=department, slug=slugify(department))
            for family, kinds in families.items():
                middle = Category.objects.create(
                    name=family, slug=slugify(f"{department} {family}"), parent=root
                )
                for kind in kinds:
                    leaves.append(
                        Category.objects.create(
                            name=kind, slug=slugify(f"{family} {kind}"), parent=middle
                        )
                    )
        return leaves

    def _product(self, rng: random.Random, number: int, category: Category) -> Product:
        name = (
            f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} "
            f"{category.name.rstrip('s')} {rng.choice(COLOURS)}"
        )
        cents = rng.randint(199, 99999)
        stock = 0 if rng.random() < 0.08 else rng.randint(1, 500)
        return Product(
            name=name,
            slug=f"{slugify(name)}-{number}",
            sku=f"DEMO-{number:06d}",
            description=(
                f"{name}. A {rng.choice(ADJECTIVES).lower()} pick from our {category.name.lower()} "
                f"range, made of {rng.choice(MATERIALS).lower()}."
            ),
            price=Decimal(cents) / 100,
            stock=stock,
            is_active=rng.random() > 0.03,
            category=category,
        )

    def _typed_products(self, rng: random.Random, after: int, total: int) -> list[Product]:
        """Create ``total`` products of the demo's types with attribute values and variants,
        numbered from ``after + 1``, through ``product_create``."""
        types = {product_type.slug: product_type for product_type in ProductType.objects.all()}
        leaves = {category.slug: category for category in Category.objects.filter(children=None)}
        products = []
        for index in range(total):
            type_slug, leaf_slugs, nouns = TYPED[index % len(TYPED)]
            number = after + index + 1
            name = f"{rng.choice(ADJECTIVES)} {rng.choice(nouns)} {number}"
            price = Decimal(rng.randint(999, 49999)) / 100
            attributes, variants = typed_product_data(rng, type_slug, f"DEMO-{number:06d}", price)
            products.append(
                product_create(
                    created_by=None,
                    name=name,
                    slug=f"{slugify(name)}",
                    category=leaves[rng.choice(leaf_slugs)],
                    description=f"{name}, one of our {type_slug} with its options.",
                    product_type=types[type_slug],
                    attributes=attributes,
                    variants=variants,
                )
            )
        return products

    def _spread_creation_dates(self) -> None:
        # bulk_create stamps one instant; spread products over the past year, newest last.
        table = Product._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET created_at = now() - (((SELECT max(id) FROM {table}) - id)"
                " * interval '3 hours'), updated_at = now()"
            )
