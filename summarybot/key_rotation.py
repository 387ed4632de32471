"""Re-encrypting every stored secret with the first key of FIELD_ENCRYPTION_KEY.

Rotation: prepend a new key, restart, run `python manage.py rotate_encryption_keys`, then drop the old key.
The fields are found by walking the models for EncryptedTextField, so a new secret column is rotated too.
Work goes in primary-key batches and skips values the first key already opens, so an interrupted run is
simply started again. Each row is written only if it still holds the ciphertext that was read: a secret
changed meanwhile (already under the new key) is never overwritten with the old one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.apps import apps
from django.db import models, transaction
from django.db.models.functions import Cast

from summarybot import crypto
from summarybot.db import EncryptedTextField

logger = logging.getLogger(__name__)


@dataclass
class FieldRotation:
    model: type[models.Model]
    field: EncryptedTextField
    rotated: int = 0
    current: int = 0
    undecryptable: int = 0
    changed_meanwhile: int = 0

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"


def encrypted_fields() -> Iterator[tuple[type[models.Model], EncryptedTextField]]:
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field


def _raw(field: EncryptedTextField) -> Cast:
    # The stored ciphertext as plain text: the field's own converter (which decrypts) does not run on it.
    return Cast(field.attname, output_field=models.TextField())


def encryption_keys_rotate(
    *, batch_size: int = 500, on_field: Callable[[FieldRotation], None] | None = None
) -> list[FieldRotation]:
    """Re-encrypt every encrypted value with the first key; returns counts per field."""
    results = []
    for model, field in encrypted_fields():
        result = FieldRotation(model=model, field=field)
        rows = model._base_manager.annotate(_ciphertext=_raw(field)).exclude(_ciphertext="").exclude(
            _ciphertext__isnull=True
        )
        last_pk = None
        while True:
            page = rows.order_by("pk") if last_pk is None else rows.filter(pk__gt=last_pk).order_by("pk")
            batch = list(page.values_list("pk", "_ciphertext")[:batch_size])
            if not batch:
                break
            last_pk = batch[-1][0]
            with transaction.atomic():
                for pk, token in batch:
                    _rotate_one(result, rows, pk, token)
        results.append(result)
        if on_field:
            on_field(result)
    return results


def _rotate_one(result: FieldRotation, rows: models.QuerySet, pk: object, token: str) -> None:
    if crypto.is_current(token):
        result.current += 1
        return
    try:
        rotated = crypto.rotate(token)
    except crypto.DecryptionFailed:
        result.undecryptable += 1
        logger.error(
            "%s of pk=%s cannot be decrypted with any key of FIELD_ENCRYPTION_KEY; left as it is",
            result.label, pk, extra={"model": result.model._meta.label, "field": result.field.name, "pk": str(pk)},
        )
        return
    # A Value is written as is: the field's get_prep_value would encrypt the ciphertext once more.
    written = rows.filter(pk=pk, _ciphertext=token).update(
        **{result.field.attname: models.Value(rotated, output_field=models.TextField())}
    )
    if written:
        result.rotated += 1
    else:
        result.changed_meanwhile += 1
