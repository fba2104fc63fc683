"""The one error this package raises for bad input: a file that is missing, unsafe, corrupt or
disagrees with its config, or a text the model cannot read. The message names the file."""

from __future__ import annotations

from pathlib import Path

__all__ = ["PICKLE_SUFFIXES", "ModelError", "pickle_refusal"]

# Formats that can run arbitrary code when loaded (Python pickle inside). Never opened.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


class ModelError(ValueError):
    """A model folder, weight file, tokenizer or attention file that attnviz cannot use.

    ``path`` is the file (or folder) at fault, when there is one.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else Path(path)


def pickle_refusal(path: Path) -> ModelError:
    """The error for a pickle checkpoint: why it is refused and how to convert it once."""
    return ModelError(
        f"{path.name} in {path.parent} is a PyTorch pickle checkpoint; attnviz never loads pickle "
        "files, because unpickling can run arbitrary code. Convert it once to safetensors with a "
        "Python that has torch and transformers, on a checkpoint you trust:\n"
        "    from transformers import AutoModel\n"
        f"    AutoModel.from_pretrained(r'{path.parent}').save_pretrained("
        f"r'{path.parent}', safe_serialization=True)\n"
        "or, for a bare state dict:\n"
        "    import torch; from safetensors.torch import save_file\n"
        f"    save_file(torch.load(r'{path}', weights_only=True), 'model.safetensors')",
        path,
    )
