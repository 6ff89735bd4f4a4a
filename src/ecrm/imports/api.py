"""What other domains (the console, the bench, the demo) may call in imports."""

from ecrm.imports.readers import ImportFileError
from ecrm.imports.rules import KINDS, MappingError
from ecrm.imports.services import (
    ImportSummary,
    builtin_mappings,
    load_mapping,
    queue_import,
    run_import,
)

__all__ = [
    "KINDS",
    "ImportFileError",
    "ImportSummary",
    "MappingError",
    "builtin_mappings",
    "load_mapping",
    "queue_import",
    "run_import",
]
