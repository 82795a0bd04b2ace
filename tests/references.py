"""Upstream reference files, read at test time from snapshots kept outside the project.

The conformance tests check Vigil against other projects' own test vectors and examples. Those files are
not committed here: they are read, at the commit a test names, from a folder of snapshots that holds, per
repository `owner/name`, either

- `<owner>+<name>/repo`: a bare git directory (or `repo/.git`), as the workplace's fetch tool leaves it, or
- `<owner>+<name>/`: a `git clone` of the public repository (or a bare clone, or, last, plain files).

The folder is `$VIGIL_REFERENCES`; without it, `.mirror` beside the checkout (`<repo root>/../.mirror`) and,
when the checkout is a linked git worktree, `.mirror` beside the main checkout. Files are read with
`git show <commit>:<path>`; when the named commit is not in the snapshot the newest commit (HEAD) is read
instead, with a warning and `@HEAD` in the ids of the cases built from it. When no snapshot is there, the
tests that need it skip, saying which repository, commit and paths they need and how to provide them.
"""

from __future__ import annotations

import functools
import os
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


class ReferenceWarning(UserWarning):
    """A reference is read at another commit than the one a test names."""


class UpstreamError(Exception):
    """A snapshot is there but does not hold what a test names (a wrong path or commit in the test)."""


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(ReferenceWarning(message), stacklevel=3)


def _main_checkout(root: Path) -> Path | None:
    """The main checkout of a linked worktree (its `.git` is a file naming `<main>/.git/worktrees/<name>`)."""
    dot_git = root / ".git"
    if not dot_git.is_file():
        return None
    text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
    if not text.startswith("gitdir:"):
        return None
    gitdir = (root / text[len("gitdir:"):].strip()).resolve()
    common = gitdir / "commondir"
    if not common.is_file():
        return None
    return (gitdir / common.read_text(encoding="utf-8").strip()).resolve().parent


def folders() -> list[Path]:
    """Where snapshots are looked for, in order."""
    given = os.environ.get("VIGIL_REFERENCES")
    if given:
        return [Path(given).expanduser()]
    found = [ROOT.parent / ".mirror"]
    main = _main_checkout(ROOT)
    if main is not None and main.parent / ".mirror" not in found:
        found.append(main.parent / ".mirror")
    return found


def _is_git_dir(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir()


@functools.cache
def _locate(repo: str, where: tuple[Path, ...]) -> tuple[str, Path] | None:
    """("git", git directory) or ("files", work tree) for `owner/name`, or None."""
    base_name = repo.replace("/", "+")
    for folder in where:
        base = folder / base_name
        for candidate in (base / "repo", base / "repo" / ".git", base / ".git", base):
            if _is_git_dir(candidate):
                return "git", candidate
        if base.is_dir() and any(base.iterdir()):
            return "files", base
    return None


def _git(git_dir: Path, *args: str, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(["git", "--git-dir", str(git_dir), *args], input=stdin, capture_output=True, check=False)
    if done.returncode:
        raise UpstreamError(f"git {' '.join(args)} in {git_dir}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


@functools.cache
def _resolve(git_dir: Path, commit: str) -> tuple[str, bool]:
    """(the commit to read, whether it is HEAD standing in for an absent commit)."""
    done = subprocess.run(["git", "--git-dir", str(git_dir), "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"],
                          capture_output=True, check=False)
    if done.returncode == 0:
        return done.stdout.decode().strip(), False
    return _git(git_dir, "rev-parse", "--verify", "HEAD^{commit}").decode().strip(), True


@functools.cache
def _tree(git_dir: Path, commit: str, folder: str) -> dict[str, str]:
    """Every file under `folder` at `commit`: path -> blob id."""
    out = _git(git_dir, "ls-tree", "-r", "-z", commit, "--", folder.rstrip("/") + "/" if folder else ".")
    files = {}
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, path = entry.split(b"\t", 1)
        _, kind, blob = meta.split()
        if kind == b"blob":
            files[path.decode()] = blob.decode()
    return files


@functools.cache
def _blobs(git_dir: Path, blob_ids: tuple[str, ...]) -> tuple[bytes, ...]:
    """The contents of many blobs in one `git cat-file --batch`."""
    out = _git(git_dir, "cat-file", "--batch", stdin="".join(b + "\n" for b in blob_ids).encode())
    found, at = [], 0
    for blob in blob_ids:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        if len(header) != 3 or header[0].decode() != blob:
            raise UpstreamError(f"git cat-file answered {out[at:end]!r} for {blob}")
        size = int(header[2])
        found.append(out[end + 1:end + 1 + size])
        at = end + 1 + size + 1
    return tuple(found)


@functools.cache
def _show(git_dir: Path, commit: str, path: str) -> bytes | None:
    done = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"], capture_output=True, check=False)
    return done.stdout if done.returncode == 0 else None


@dataclass(frozen=True)
class Reference:
    """One upstream repository at one commit, and the paths a test module reads from it."""

    repo: str  # owner/name on GitHub
    commit: str
    paths: tuple[str, ...]
    licence: str = ""

    # --- where it is ------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://github.com/{self.repo}"

    def _where(self) -> tuple[str, Path] | None:
        return _locate(self.repo, tuple(folders()))

    @property
    def available(self) -> bool:
        return self._where() is not None

    @property
    def read_at(self) -> str:
        """The commit actually read: the named one, or HEAD when the snapshot lacks it ("" for plain files)."""
        kind, path = self._located()
        if kind == "files":
            return ""
        resolved, fell_back = _resolve(path, self.commit)
        if fell_back:
            _warn_once(f"{self.repo}: commit {self.commit} is not in {path}; reading its HEAD ({resolved}) instead")
        return resolved

    @property
    def fell_back(self) -> bool:
        kind, path = self._located()
        return kind == "files" or _resolve(path, self.commit)[1]

    @property
    def suffix(self) -> str:
        """What case ids carry when the named commit could not be read."""
        if not self.fell_back:
            return ""
        return "@HEAD" if self._located()[0] == "git" else "@worktree"

    def skip_reason(self) -> str:
        tried = ", ".join(str(f) for f in folders())
        folder = self.repo.replace("/", "+")
        return (f"needs {self.repo} at {self.commit} ({', '.join(self.paths)}); no snapshot of it in {tried}. "
                f"To run it, set VIGIL_REFERENCES to a folder holding {folder}/, a clone of {self.url} that contains "
                f"commit {self.commit[:12]} (git clone {self.url} \"$VIGIL_REFERENCES/{folder}\"), or {folder}/repo, "
                f"a bare git directory of it.")

    def require(self) -> None:
        """Skip the calling test when the snapshot is absent; warn when it is read at HEAD."""
        if not self.available:
            pytest.skip(self.skip_reason())
        self.read_at  # noqa: B018 (warns when it falls back)

    def _located(self) -> tuple[str, Path]:
        where = self._where()
        if where is None:
            pytest.skip(self.skip_reason())
        return where

    # --- what it holds ------------------------------------------------------------------------------------------

    def read(self, path: str) -> bytes:
        kind, where = self._located()
        if kind == "files":
            file = where / path
            if not file.is_file():
                raise UpstreamError(f"{self.repo}: no {path} in {where}")
            _warn_once(f"{self.repo}: {where} is not a git directory; its files are read as they are, not at {self.commit}")
            return file.read_bytes()
        data = _show(where, self.read_at, path)
        if data is None:
            self._missing(path)
        return data

    def text(self, path: str) -> str:
        return self.read(path).decode("utf-8")

    def files(self, folder: str) -> list[str]:
        """The paths of every file under `folder`, sorted."""
        kind, where = self._located()
        if kind == "files":
            root = where / folder
            return sorted(str(p.relative_to(where)) for p in root.rglob("*") if p.is_file())
        found = sorted(_tree(where, self.read_at, folder))
        if not found:
            self._missing(folder)
        return found

    def read_many(self, folder: str) -> dict[str, bytes]:
        """Every file under `folder`: path -> contents (one git process for all of them)."""
        kind, where = self._located()
        if kind == "files":
            return {p: (where / p).read_bytes() for p in self.files(folder)}
        tree = _tree(where, self.read_at, folder)
        if not tree:
            self._missing(folder)
        names = sorted(tree)
        return dict(zip(names, _blobs(where, tuple(tree[n] for n in names)), strict=True))

    def _missing(self, path: str):
        if self.fell_back:
            pytest.skip(f"{self.repo}: {path} is not at {self.read_at or 'its work tree'} (read because {self.commit} is absent)")
        raise UpstreamError(f"{self.repo} has no {path} at {self.commit}")

    # --- cases for parametrize ----------------------------------------------------------------------------------

    def params(self, make, ids=None) -> list:
        """pytest.param per item that `make()` returns, read from this reference; one skipped param without it."""
        return params((self,), make, ids)


def params(needed: tuple[Reference, ...], make, ids=None) -> list:
    """pytest.param per item that `make()` returns (built from `needed`); one skipped param when one is absent.

    `ids(item)` names a case; `@HEAD` is added when a named commit could not be read.
    """
    for ref in needed:
        if not ref.available:
            return [pytest.param(None, id=f"{ref.repo.replace('/', '+')}-absent", marks=pytest.mark.skip(reason=ref.skip_reason()))]
    items = make()
    suffix = "".join(dict.fromkeys(ref.suffix for ref in needed))
    return [pytest.param(item, id=(ids(item) if ids else str(i)) + suffix) for i, item in enumerate(items)]
