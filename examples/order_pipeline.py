"""The pipeline of docs/triggers.md: an event trigger starts it for each new order.

    headrace trigger create on-order examples/order_pipeline.py --on com.example.order.created \
        -p order='{{ data.order_id }}' -p quantity='{{ data.quantity }}'
"""

# kfp reads the annotations: no `from __future__ import annotations`.
# mypy: disable-error-code="untyped-decorator,no-any-return"
from kfp import dsl


@dsl.component(base_image="python:3.11")
def describe(order: str, quantity: int, note: str) -> str:
    return f"{order} x{quantity} {note}".strip()


@dsl.pipeline(name="order-pipeline")
def order_pipeline(order: str, quantity: int, note: str = "") -> str:
    """One step: the order, its quantity and the note as text."""
    return describe(order=order, quantity=quantity, note=note).output
