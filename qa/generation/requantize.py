"""Q4_0 weights for the packaged 0.5B model, made once at install time from the packaged Q4_K_M file.

The 0.5B "Q4_K_M" file is mostly Q5_0 (its 896-wide rows do not fit the K-quant blocks), which llama.cpp cannot
repack for AVX2; as Q4_0 nearly all of it is repacked and reading a prompt is about 1.3-1.8x faster here, with
the dev answer quality holding (docs/benchmarks.md, docs/evaluation.md). The conversion runs in numpy with
the ``gguf`` package (maintained with llama.cpp): every quantised weight is dequantised and quantised again as
Q4_0, except ``output.weight``, which llama.cpp's own quantiser also leaves at its higher precision.
"""

from __future__ import annotations

import os
from pathlib import Path

KEEP = {"output.weight"}  # tensors left as they are
MOSTLY_Q4_0 = 2  # llama.cpp's general.file_type for "mostly Q4_0"


def requantize_q4_0(source: Path, target: Path) -> Path:
    """Write ``target`` (atomically) as the Q4_0 version of ``source``."""
    import gguf
    import numpy as np
    from gguf import GGMLQuantizationType as Q
    from gguf import quants

    reader = gguf.GGUFReader(source)
    arch_field = reader.get_field(gguf.Keys.General.ARCHITECTURE)
    arch = str(arch_field.contents()) if arch_field is not None else "llama"
    tmp = target.with_suffix(f".{os.getpid()}.partial")
    writer = gguf.GGUFWriter(tmp, arch=arch, endianess=reader.endianess)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        value = MOSTLY_Q4_0 if field.name == gguf.Keys.General.FILE_TYPE else field.contents()
        writer.add_key_value(field.name, value, kind, sub_type=sub)
    converted = []
    for tensor in reader.tensors:
        data, qtype = tensor.data, tensor.tensor_type
        if qtype not in (Q.F32, Q.F16, Q.Q4_0) and tensor.name not in KEEP:
            weights = quants.dequantize(tensor.data, qtype).astype(np.float32)
            if weights.shape[-1] % 32 == 0:
                data, qtype = quants.quantize(weights, Q.Q4_0), Q.Q4_0
        converted.append((tensor.name, data, qtype))
        writer.add_tensor_info(tensor.name, data.shape, data.dtype, data.nbytes, qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for _, data, _ in converted:
        writer.write_tensor_data(data, tensor_endianess=reader.endianess)
    writer.close()
    os.replace(tmp, target)
    return target
