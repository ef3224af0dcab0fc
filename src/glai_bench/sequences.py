"""Language identification of single words: character sequences from Debian's word lists.

Each word list package (``wamerican``, ``wngerman``, ...) installs one file of words under
``/usr/share/dict``. A sample is one word, lowercased, as a sequence of character indices;
its label is the language whose list holds it. Words found in more than one list (after
lowercasing) are left out, since their language is ambiguous, as are words with anything
but letters (hyphens, apostrophes, digits). The same number of words is drawn from each
language, and each language's words are split into train, validation and test alike.
"""

from __future__ import annotations

import functools
import os
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from glai_bench.datasets import Pair, Splits

DEFAULT_ROOT = "/usr/share/dict"
ROOT_VARIABLE = "GLAI_WORD_LISTS"
WORD_LISTS = {  # language: (file under the root, the Debian package that installs it)
    "english": ("american-english", "wamerican"),
    "german": ("ngerman", "wngerman"),
    "french": ("french", "wfrench"),
    "spanish": ("spanish", "wspanish"),
    "italian": ("italian", "witalian"),
    "dutch": ("dutch", "wdutch"),
}
PAD, UNKNOWN = 0, 1
RESERVED = ("<pad>", "<unk>")


@dataclass
class TextSplits(Splits):
    """Train/validation/test ``(tokens, labels)`` of a sequence classification task.

    ``tokens`` are (n, length) int64 character indices, :data:`PAD` after the word's end
    and :data:`UNKNOWN` for a character absent from the training split; labels are (n,)
    indices into ``languages``.
    """

    vocabulary: tuple[str, ...] = RESERVED
    languages: tuple[str, ...] = ()

    @property
    def length(self) -> int:
        """Characters per sequence (longer words are cut)."""
        return self.train[0].shape[1]


def word_lists_root(root: str | os.PathLike | None = None) -> Path:
    """The directory of the word lists: ``root``, else ``$GLAI_WORD_LISTS``, else Debian's."""
    return Path(root or os.environ.get(ROOT_VARIABLE) or DEFAULT_ROOT)


def missing_packages(root: str | os.PathLike | None = None) -> list[str]:
    """The Debian packages whose word list is not under the root (empty when all are)."""
    directory = word_lists_root(root)
    return [package for name, package in WORD_LISTS.values() if not (directory / name).is_file()]


def read_words(path: str | os.PathLike) -> set[str]:
    """The words of one list: Unicode NFC, lowercased, letters only, at least two long."""
    words = set()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            word = unicodedata.normalize("NFC", line.strip()).lower()
            if len(word) >= 2 and word.isalpha():
                words.add(word)
    return words


def language_words(root: str | os.PathLike | None = None) -> dict[str, list[str]]:
    """Every language's words that no other list holds, sorted.

    Raises:
        FileNotFoundError: a list is missing; the message names the packages to install.
    """
    missing = missing_packages(root)
    if missing:
        raise FileNotFoundError(
            f"word lists missing under {word_lists_root(root)}: apt-get install {' '.join(missing)}"
        )
    return {language: list(words) for language, words in _unique_words(word_lists_root(root))}


@functools.lru_cache(maxsize=2)
def _unique_words(directory: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """:func:`language_words` of ``directory``, read once per process (about 1.6 million
    lines: seconds)."""
    lists = {language: read_words(directory / name) for language, (name, _) in WORD_LISTS.items()}
    counts = Counter(word for words in lists.values() for word in words)
    return tuple(
        (language, tuple(sorted(word for word in words if counts[word] == 1)))
        for language, words in lists.items()
    )


def encode(words: Sequence[str], vocabulary: Sequence[str], length: int) -> torch.Tensor:
    """Character indices of ``words``: (n, length) int64, cut at ``length``, padded with
    :data:`PAD`; a character outside ``vocabulary`` becomes :data:`UNKNOWN`."""
    index = {character: position for position, character in enumerate(vocabulary)}
    tokens = torch.full((len(words), length), PAD, dtype=torch.int64)
    for row, word in enumerate(words):
        codes = [index.get(character, UNKNOWN) for character in word[:length]]
        tokens[row, : len(codes)] = torch.tensor(codes, dtype=torch.int64)
    return tokens


def word_splits(
    words_per_language: int,
    length: int = 20,
    held_out: float = 0.1,
    seed: int = 0,
    root: str | os.PathLike | None = None,
) -> TextSplits:
    """Language identification of words: balanced train, validation and test splits.

    Args:
        words_per_language: words drawn at random (with ``seed``) from each language's.
        length: characters kept per word (longer words are cut, shorter ones padded).
        held_out: fraction of each language's words in the validation split, and again
            in the test split.
        seed: seeds the draw and the split; the same arguments give the same splits.
        root: directory of the word lists (see :func:`word_lists_root`).

    Returns:
        The splits, samples in random order (languages interleaved), with the character
        vocabulary of the training split (sorted, after :data:`RESERVED`) and the
        languages in label order.
    """
    if not 0 < held_out < 0.5:
        raise ValueError(f"held_out must lie in (0, 0.5), got {held_out}")
    generator = torch.Generator().manual_seed(seed)
    parts: dict[str, tuple[list[str], list[int]]] = {
        "train": ([], []),
        "val": ([], []),
        "test": ([], []),
    }
    for label, (language, words) in enumerate(language_words(root).items()):
        if len(words) < words_per_language:
            raise ValueError(
                f"{language} has {len(words):,} usable words, fewer than {words_per_language:,}"
            )
        order = torch.randperm(len(words), generator=generator)[:words_per_language].tolist()
        chosen = [words[i] for i in order]
        count = round(held_out * words_per_language)
        for part, share in (
            ("val", chosen[:count]),
            ("test", chosen[count : 2 * count]),
            ("train", chosen[2 * count :]),
        ):
            parts[part][0].extend(share)
            parts[part][1].extend([label] * len(share))
    vocabulary = RESERVED + tuple(sorted({c for word in parts["train"][0] for c in word}))

    def pair(part: str) -> Pair:
        words, labels = parts[part]
        order = torch.randperm(len(words), generator=generator)  # languages interleaved
        tokens = encode(words, vocabulary, length)
        return tokens[order], torch.tensor(labels, dtype=torch.int64)[order]

    return TextSplits(
        "words",
        pair("train"),
        pair("val"),
        pair("test"),
        vocabulary=vocabulary,
        languages=tuple(WORD_LISTS),
    )
