"""The `coig` command: build releases, manage source files, export schemas."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from coig.errors import CoigError

EPILOG = """examples:
  coig build                              build every config into ./releases/coig-0.1.0
  coig build --version 0.2.0 --config exam_instructions
  coig build --flow                       run the same build as a Prefect flow
  coig sources list                       show each source and whether its files are present
  coig sources fetch                      download missing source files, verifying checksums
  coig export releases/coig-0.1.0 --format llama_factory
  coig publish releases/coig-0.1.0 --repo ORG/NAME   push to the Hub as one commit tagged v0.1.0

The data root (where source files live) is --data-root, else $COIG_DATA_ROOT, else a per-user
cache folder. Files missing there are downloaded from the addresses in sources/*.yaml."""


def _parser() -> argparse.ArgumentParser:
    from coig.export import FORMATS
    from coig.records import CONFIGS
    from coig.split import SPLITS

    parser = argparse.ArgumentParser(
        prog="coig",
        description="Build COIG-style Chinese instruction-tuning datasets from public sources.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only warnings and errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--data-root", help="folder holding the source files (default: $COIG_DATA_ROOT or a user cache)")
        sub.add_argument("--sources-dir", type=Path, help="folder of source manifests (default: the project's sources/)")

    build = commands.add_parser("build", help="build a release folder from the sources", description="Read, build, "
                                "normalize, filter, deduplicate and split every source, then write a release folder "
                                "with Parquet files, a dataset card, manifest.json and rejects.parquet.")
    common(build)
    build.add_argument("--output", type=Path, default=Path("releases"), help="where release folders go (default: releases)")
    build.add_argument("--version", default="0.1.0", help="release version (default: 0.1.0)")
    build.add_argument("--name", default="coig", help="dataset name; the folder is NAME-VERSION (default: coig)")
    build.add_argument("--config", action="append", choices=CONFIGS, help="build only this config (repeatable)")
    build.add_argument("--settings", type=Path, help="YAML file overriding build settings (thresholds, split ratios)")
    build.add_argument("--force", action="store_true", help="replace an existing release of the same name and version")
    build.add_argument("--no-fetch", action="store_true", help="never download: fail if a source file is missing")
    build.add_argument("--cache-dir", type=Path, help="where stage outputs are kept for incremental rebuilds "
                       "(default: $COIG_CACHE_DIR or a user cache folder)")
    build.add_argument("--no-cache", action="store_true", help="run every stage, keeping nothing for later builds")
    build.add_argument("--flow", action="store_true", help="run the build as the Prefect flow build-release")

    sources = commands.add_parser("sources", help="list, fetch or verify source files")
    actions = sources.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (
        ("list", "show each source, its builder, license and whether its files are in the data root"),
        ("fetch", "download files missing from the data root, verifying each sha256"),
        ("verify", "check that every file is present with the sha256 its manifest gives"),
    ):
        sub = actions.add_parser(action, help=text, description=text)
        common(sub)
        sub.add_argument("names", nargs="*", help="source names (default: all)")

    export = commands.add_parser("export", help="write a release in a fine-tuning tool's format",
                                 description="Write a release's records as Alpaca JSON, BELLE JSON Lines, OpenAI chat "
                                 "messages, or LLaMA-Factory files with a dataset_info.json: one file per config and split.")
    export.add_argument("release", type=Path, help="a release folder written by `coig build`, e.g. releases/coig-0.1.0")
    export.add_argument("--format", required=True, choices=list(FORMATS), help="the output format")
    export.add_argument("--output", type=Path, help="where the files go (default: exports/RELEASE_FOLDER_NAME)")
    export.add_argument("--config", action="append", choices=CONFIGS, help="export only this config (repeatable)")
    export.add_argument("--split", action="append", choices=SPLITS, help="export only this split (repeatable)")

    publish = commands.add_parser("publish", help="push a release as one commit tagged v<version> to the Hub or a local git repo",
                                  description="Upload a release folder as one commit and tag it v<version>. A published version is "
                                  "never changed: publishing it again is refused unless its data files are identical (then nothing "
                                  "is done). The token comes from $HF_TOKEN or `hf auth login`. See docs/publishing.md.")
    publish.add_argument("release", type=Path, help="the release folder, e.g. releases/coig-0.1.0")
    publish.add_argument("--repo", required=True, help="ORG/NAME of a Hugging Face dataset repo, or file:///path of a local git repository")
    publish.add_argument("--private", action="store_true", help="create the Hub repo private (an existing repo keeps its visibility)")
    publish.add_argument("--branch", help="branch to commit to (default: main; locally: the current branch)")
    publish.add_argument("--message", help="commit message (default: Publish NAME VERSION)")

    schemas = commands.add_parser("schemas", help="export the records' JSON Schemas to schemas/")
    schemas.add_argument("--check", action="store_true", help="only report schema files that differ from the models")
    return parser


def _load(args) -> list:
    from coig.sources import SOURCES_DIR, load_sources

    return load_sources(args.sources_dir or SOURCES_DIR, getattr(args, "names", None) or None)


def _build(args) -> None:
    from coig.pipeline import resolve_cache_dir
    from coig.settings import load_settings
    from coig.sources import resolve_data_root

    data_root = resolve_data_root(args.data_root)
    cache_dir = None if args.no_cache else resolve_cache_dir(args.cache_dir)
    options = dict(
        data_root=data_root, output=args.output.resolve(), version=args.version, settings=load_settings(args.settings),
        configs=args.config, name=args.name, force=args.force, fetch=not args.no_fetch, cache_dir=cache_dir,
    )
    if args.flow:
        from flows.build_release import build_release_flow

        release = build_release_flow(sources_dir=str(args.sources_dir or ""), **{
            **options, "data_root": str(data_root), "output": str(options["output"]),
            "settings": options["settings"].model_dump(), "cache_dir": str(cache_dir) if cache_dir else "none",
        })
    else:
        from coig.pipeline import build_release

        release = build_release(_load(args), **options)
    print(f"release written to {release}")
    print("load it with:")
    first = (args.config or ["exam_instructions"])[0]
    print(f'  python -c \'import datasets; print(datasets.load_dataset("{release}", "{first}", split="train"))\'')


def _sources(args) -> None:
    from coig.sources import is_present, resolve_data_root, verify

    data_root = resolve_data_root(args.data_root)
    chosen = _load(args)
    if args.action == "list":
        print(f"data root: {data_root}")
        for s in chosen:
            state = "present" if is_present(s, data_root) else "missing"
            print(f"  {s.name:24} {s.builder or '(reference)':36} {s.license:14} {len(s.files):4} files  {state}")
    elif args.action == "fetch":
        from coig.fetch import fetch

        print(fetch(chosen, data_root, progress=print).summary())
    else:
        for s in chosen:
            verify(s, data_root)
        print(f"{sum(len(s.files) for s in chosen)} files verified in {data_root}")


def _export(args) -> None:
    from coig.export import export

    output = args.output or Path("exports") / args.release.resolve().name
    for path in export(args.release, output, args.format, args.config, args.split):
        print(f"wrote {path}")
    if args.format == "llama_factory":
        print(f"LLaMA-Factory: set dataset_dir: {output} and pick a dataset name from {output / 'dataset_info.json'}")


def _publish(args) -> None:
    from coig.publish import publish

    result = publish(args.release, args.repo, private=args.private, branch=args.branch, message=args.message)
    print(result.summary())
    if not args.repo.startswith("file://"):
        print(f'load it with: load_dataset("{args.repo}", "<config>", revision="{result.tag}")')


def _schemas(args) -> None:
    from coig.schemas import SCHEMAS_DIR, export_schemas, stale_schemas

    if args.check:
        stale = stale_schemas()
        if stale:
            raise CoigError(f"schemas differ from the models: {', '.join(stale)}; run `coig schemas`")
        print("schemas match the models")
    else:
        for path in export_schemas():
            print(f"wrote {path.relative_to(SCHEMAS_DIR.parent)}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("coig").setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        {"build": _build, "sources": _sources, "export": _export, "publish": _publish, "schemas": _schemas}[args.command](args)
    except CoigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing half-written was left behind", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
