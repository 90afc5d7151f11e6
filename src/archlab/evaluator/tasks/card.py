"""A task card: a user's classification problem described in YAML, its data read from the user's files.

    name: signals
    data:
      train: {path: train.npz, x: x, y: y}          # .npz (keys), .npy (x; y from a second .npy), .csv / .tsv
      test: {path: test.csv, label: activity}        # a CSV's label column by name, or by index (label: -1)
      # .parquet (label: NAME; x: a list column, or every other column a feature), or a folder a Hugging Face
      # dataset was saved to with save_to_disk (label, default "label"; x: a list/array column, or the others)
    input_shape: [3, 128]                            # optional: each row reshaped (channels first)
    split: {val: 0.2, test: 0.2, seed: 0}            # what the files do not give: stratified, seeded
    metric: balanced_accuracy                        # selects: accuracy, balanced_accuracy, macro_f1, auroc, log_loss
    report_metrics: [macro_f1, auroc]
    recipe: {epochs: 30, batch_size: 64, optimizer: adamw, lr: 0.003, schedule: cosine, label_smoothing: 0.1}
    max_params: 500000

Every problem in the data (a missing file or column, NaN or Inf, a ragged row, a class only the test split has,
a split that empties a class) is a ConfigError naming the file, the column or the line. Nothing is stored here:
archlab.run.tasks keeps the checked card in the workspace.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from archlab.errors import ConfigError

NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")
# Metrics a card can select on (`metric`: every ranking, strategy, cascade rung and report uses it, on the validation
# split) or report beside it; all are computed on the host by scikit-learn from the predictions a job returns.
REPORTED = ("accuracy", "balanced_accuracy", "macro_f1", "auroc", "log_loss")
SELECTABLE = REPORTED
MINIMIZED = ("log_loss",)  # lower is better
PROBABILISTIC = ("auroc", "log_loss")  # computed from the class probabilities a train job then returns too
MAX_BYTES = 4 << 30  # a data file above this is refused: it would be read whole into memory


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path
    x: str = Field(default="x", description=".npz: the key of the inputs")
    y: str | Path = Field(default="y", description=".npz: the key of the labels; .npy: the labels' .npy file")
    label: str | int | None = Field(default=None, description="CSV/TSV: the label column, by name or index; "
                                    "Parquet / a saved Hugging Face dataset: by name")
    header: bool | None = Field(default=None, description="CSV/TSV: a header row (default: when label is a name)")


class Split(BaseModel):
    model_config = ConfigDict(extra="forbid")

    val: float = Field(default=0.2, gt=0, lt=0.5, description="fraction of train held out when no val is given")
    test: float = Field(default=0.2, gt=0, lt=0.5, description="fraction of train held out when no test is given")
    seed: int = 0


class Recipe(BaseModel):
    """How every candidate (and every reference model) is trained: the same recipe for all of them. The
    cascade's lower fidelities run the same recipe for a fraction of the steps."""

    model_config = ConfigDict(extra="forbid")

    steps: int = Field(default=1000, gt=0, description="training steps at full fidelity")
    epochs: float | None = Field(default=None, gt=0, description="instead of steps: passes over the train split")
    batch_size: int = Field(default=64, gt=0)
    optimizer: Literal["adamw", "sgd"] = "adamw"
    lr: float | None = Field(default=None, gt=0, le=10, description="None: the run's evaluation.lr")
    schedule: Literal["onecycle", "cosine", "constant"] = "onecycle"
    weight_decay: float = Field(default=1e-4, ge=0, le=1)
    label_smoothing: float = Field(default=0.0, ge=0, lt=1)
    class_weights: Literal["none", "balanced"] = Field(
        default="none", description="balanced: each class weighs n_train / (classes * its count) in the loss")
    early_stopping: int = Field(default=0, ge=0, le=100, description="0: off; N: predict at N evenly spaced points "
                                "of training and keep the point with the best validation metric (the card's "
                                "`metric`; the host chooses; the model trains the whole recipe)")

    @model_validator(mode="after")
    def _steps_or_epochs(self) -> Recipe:
        if self.epochs is not None and "steps" in self.model_fields_set:
            raise ValueError("give steps or epochs, not both")
        return self

    def full_steps(self, train_size: int) -> int:
        """Training steps at full fidelity: as given, or the epochs over a train split of this size."""
        return self.steps if self.epochs is None else max(1, math.ceil(self.epochs * train_size / self.batch_size))

    def describe(self, train_size: int) -> str:
        lr = f"lr {self.lr:g}" if self.lr is not None else "the run's lr"
        extras = [f"weight decay {self.weight_decay:g}"]
        if self.label_smoothing:
            extras.append(f"label smoothing {self.label_smoothing:g}")
        if self.early_stopping:
            extras.append(f"early stopping: the best of {self.early_stopping} checks by the validation metric")
        if self.class_weights != "none":
            extras.append(f"{self.class_weights} class weights")
        epochs = f" ({self.epochs:g} epochs)" if self.epochs is not None else ""
        return (f"{self.full_steps(train_size)} steps{epochs}, batch {self.batch_size}, {self.optimizer}, {lr}, "
                f"{self.schedule} schedule, " + ", ".join(extras))


class TaskCard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["classify"] = "classify"
    data: dict[Literal["train", "val", "test"], Source]
    input_shape: tuple[int, ...] | None = None
    split: Split = Field(default_factory=Split)
    metric: str = Field(default="accuracy", description="what selects (on validation): " + ", ".join(SELECTABLE))
    report_metrics: list[str] = Field(default_factory=lambda: ["balanced_accuracy", "macro_f1"])
    recipe: Recipe = Field(default_factory=Recipe)
    max_params: int = Field(default=2_000_000, gt=0)
    description: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a task name: lower-case letters, digits, - and _, a letter first")
        return value

    @field_validator("data")
    @classmethod
    def _train(cls, value: dict) -> dict:
        if "train" not in value:
            raise ValueError("name a train file (data: {train: {path: ...}})")
        return value

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        if value not in SELECTABLE:
            raise ValueError(f"unknown metric {value!r}; a run selects on one of {', '.join(SELECTABLE)}")
        return value

    @field_validator("report_metrics")
    @classmethod
    def _reported(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in REPORTED]
        if unknown:
            raise ValueError(f"unknown {', '.join(unknown)}; known: {', '.join(REPORTED)}")
        return value

    def resolved(self, base: Path) -> TaskCard:
        """The card with every path absolute (relative ones are relative to the card's folder)."""
        data = {}
        for split, src in self.data.items():
            update = {"path": (base / src.path).resolve()}
            if src.path.suffix == ".npy" and isinstance(src.y, Path | str) and str(src.y).endswith(".npy"):
                update["y"] = (base / str(src.y)).resolve()
            data[split] = src.model_copy(update=update)
        return self.model_copy(update={"data": data})


def read_source(src: Source) -> tuple[np.ndarray, np.ndarray]:
    """(inputs as float32, labels as read) from one file; ConfigError names the file, key, column or line."""
    path = src.path
    if path.is_dir():
        _sized(path, sum(f.stat().st_size for f in folder_files(path)))
        x, y = _saved_dataset(path, src)
        return _checked(path, x, y)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    _sized(path, path.stat().st_size)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        x, y = _parquet(path, src)
    elif suffix == ".npz":
        x, y = _npz(path, src)
    elif suffix == ".npy":
        x, y = _npy(path, src)
    elif suffix in (".csv", ".tsv"):
        x, y = _delimited(path, src, "\t" if suffix == ".tsv" else ",")
    else:
        raise ConfigError(f"{path}: unknown format {suffix!r}; cards read .npz, .npy, .csv, .tsv, .parquet and "
                          "folders of Hugging Face datasets saved with save_to_disk")
    return _checked(path, x, y)


def _sized(path: Path, size: int) -> None:
    if size == 0:
        raise ConfigError(f"{path}: the file is empty")
    if size > MAX_BYTES:
        raise ConfigError(f"{path}: {size / 2**30:.1f} GiB; files above {MAX_BYTES >> 30} GiB are "
                          "refused (each job would read it whole)")


def _checked(path: Path, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(x) != len(y):
        raise ConfigError(f"{path}: {len(x)} inputs but {len(y)} labels")
    if len(x) == 0:
        raise ConfigError(f"{path}: no rows")
    bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if bad.any():
        raise ConfigError(f"{path}: NaN or Inf in the inputs of row {int(np.argmax(bad))} "
                          f"({int(bad.sum())} rows in all)")
    return x, y


def _parquet(path: Path, src: Source) -> tuple[np.ndarray, np.ndarray]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError(f"{path}: reading Parquet needs pyarrow (pip install 'archlab[data]')") from None
    if not isinstance(src.label, str):
        raise ConfigError(f"{path}: name the label column (label: NAME)")
    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 (pyarrow raises several kinds for a damaged file)
        raise ConfigError(f"{path}: not a readable Parquet file: {exc}") from None
    return _columns(path, {name: table.column(name).to_pylist() for name in table.column_names}, src, src.label)


def _saved_dataset(path: Path, src: Source) -> tuple[np.ndarray, np.ndarray]:
    """A Hugging Face dataset saved with save_to_disk, read offline (no hub access)."""
    if (path / "dataset_dict.json").is_file():
        splits = sorted(p.name for p in path.iterdir() if p.is_dir())
        raise ConfigError(f"{path}: a dataset with splits ({', '.join(splits)}); name one split's folder as the "
                          f"path, e.g. {path / (splits[0] if splits else 'train')}")
    if not (path / "state.json").is_file():
        raise ConfigError(f"{path}: a folder, but not a dataset saved with save_to_disk (no state.json)")
    try:
        from datasets import load_from_disk
    except ImportError:
        raise ConfigError(f"{path}: reading a saved dataset needs the datasets library "
                          "(pip install 'archlab[data]')") from None
    try:
        ds = load_from_disk(str(path))
    except Exception as exc:  # noqa: BLE001 (a damaged folder raises several kinds)
        raise ConfigError(f"{path}: not a readable saved dataset: {exc}") from None
    return _columns(path, ds.to_dict(), src, src.label if isinstance(src.label, str) else "label")


def _columns(path: Path, columns: dict[str, list], src: Source, label: str) -> tuple[np.ndarray, np.ndarray]:
    """Labels from one column; inputs from the `x` column (lists or arrays per row) or every other column."""
    if label not in columns:
        raise ConfigError(f"{path}: no column {label!r}; columns: {', '.join(columns)}")
    chosen = src.x in columns and ("x" in src.model_fields_set or _is_rows(columns[src.x]))
    features = [src.x] if chosen else [c for c in columns if c != label]
    if not features:
        raise ConfigError(f"{path}: no feature column besides {label!r}")
    try:
        parts = [np.asarray(columns[c], dtype=np.float32) for c in features]
    except (TypeError, ValueError):
        bad = next(c for c in features if not _numeric(columns[c]))
        raise ConfigError(f"{path}: column {bad!r} is not numbers (or its rows differ in length)") from None
    x = parts[0] if len(parts) == 1 and parts[0].ndim > 1 else np.stack(parts, axis=1)
    return x, np.asarray(columns[label])


def _is_rows(values: list) -> bool:
    """A column whose cells are lists or arrays (one input row per cell), not scalars."""
    return bool(values) and isinstance(values[0], list | tuple | np.ndarray)


def _numeric(values: list) -> bool:
    try:
        np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError):
        return False
    return True


def _npz(path: Path, src: Source) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in (src.x, str(src.y)) if k not in f.files]
            if missing:
                raise ConfigError(f"{path}: no array {missing[0]!r}; it holds {', '.join(f.files)}")
            return _floats(path, f[src.x]), f[str(src.y)]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable .npz: {exc}") from None


def _npy(path: Path, src: Source) -> tuple[np.ndarray, np.ndarray]:
    labels = Path(src.y)
    if labels.suffix != ".npy":
        raise ConfigError(f"{path}: a .npy holds the inputs only; name the labels' .npy as y")
    if not labels.is_file():
        raise ConfigError(f"{labels}: no such file")
    try:
        return _floats(path, np.load(path, mmap_mode="r", allow_pickle=False)), np.load(labels, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable .npy: {exc}") from None


def _floats(path: Path, x: np.ndarray) -> np.ndarray:
    if not np.issubdtype(x.dtype, np.number):
        raise ConfigError(f"{path}: the inputs are {x.dtype}, not numbers")
    return np.asarray(x, dtype=np.float32)


def _delimited(path: Path, src: Source, delimiter: str) -> tuple[np.ndarray, np.ndarray]:
    if src.label is None:
        raise ConfigError(f"{path}: name the label column (label: NAME or label: INDEX)")
    with path.open(newline="") as f:
        rows = [row for row in csv.reader(f, delimiter=delimiter) if row]
    header = src.header if src.header is not None else isinstance(src.label, str)
    names, rows = (rows[0], rows[1:]) if header and rows else (None, rows)
    if not rows:
        raise ConfigError(f"{path}: no data rows")
    column = _column(path, src.label, names, len(rows[0]))
    xs, ys = [], []
    for line, row in enumerate(rows, start=2 if header else 1):
        if len(row) != len(rows[0]):
            raise ConfigError(f"{path}, line {line}: {len(row)} fields, the first row has {len(rows[0])}")
        ys.append(row[column])
        try:
            xs.append([float(v) for i, v in enumerate(row) if i != column])
        except ValueError:
            raise ConfigError(f"{path}, line {line}: a feature that is not a number") from None
    return np.asarray(xs, dtype=np.float32), np.asarray(ys)


def _column(path: Path, label: str | int, names: list[str] | None, width: int) -> int:
    if isinstance(label, str):
        if names is None or label not in names:
            raise ConfigError(f"{path}: no column {label!r}" + (f"; columns: {', '.join(names)}" if names else ""))
        return names.index(label)
    if not -width <= label < width:
        raise ConfigError(f"{path}: no column {label}; rows have {width}")
    return label % width


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_files(card: TaskCard) -> list[Path]:
    """Every file a (resolved) card reads: the data hashes cover these (a saved dataset's folder: its files)."""
    files = []
    for src in card.data.values():
        files += folder_files(src.path) if src.path.is_dir() else [src.path]
        if src.path.suffix == ".npy":
            files.append(Path(src.y))
    return files


def folder_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())
