"""Issue 21 §3 and §4, hostile and careless input: every case is one line on stderr starting
`axhw: `, exit 2, no traceback or "internal error", and no output left behind. Then focused tests:
the DSE evaluation cache re-measures whatever changes a result (metric, model code, calibration
data, weights) and answers the unchanged task from disk; the library-table refusals name the row;
characterize does not answer a hand-edited design JSON from its cache.

Everything is tiny: 4-bit designs, a 4-6-3 MLP on 32 random samples."""

from __future__ import annotations

import hashlib
import json
import shutil
import textwrap

import numpy as np
import pytest

from axhw.design.record import write_design
from axhw.gen.families import make

from conftest import assert_one_line_error, run_cli

TASKS = textwrap.dedent('''
    import sys
    import torch
    from torch import nn
    from axhw.dse import Task

    def make(activation=nn.ReLU, seed=0, calibration_seed=1, metric=None):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(4, 6), activation(), nn.Linear(6, 3))
        gen = torch.Generator().manual_seed(2)
        x, y = torch.randn(32, 4, generator=gen), torch.randint(0, 3, (32,), generator=gen)
        calibration = torch.randn(16, 4, generator=torch.Generator().manual_seed(calibration_seed))
        return Task(model, [calibration], [(x, y)], metric=metric)

    def base():
        return make()

    def const42():
        return make(metric=lambda out, target: 42.0)

    def tanh():
        return make(activation=nn.Tanh)

    def other_calibration():
        return make(calibration_seed=7)

    def other_weights():
        return make(seed=3)

    def nan_metric():
        return make(metric=lambda out, target: float("nan"))

    def str_metric():
        return make(metric=lambda out, target: "good")

    def raising_metric():
        def metric(out, target):
            raise ValueError("boom")
        return make(metric=metric)

    def wrong_shape():
        t = make()
        t.evaluation = [(torch.randn(8, 5), torch.zeros(8, dtype=torch.long))]
        return t

    def inf_weight():
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
        with torch.no_grad():
            model[0].weight[0, 0] = float("inf")
        x = torch.randn(8, 4)
        return Task(model, [x], [(x, torch.zeros(8, dtype=torch.long))])

    def base_exception():
        raise BaseException("stop")

    def exits():
        sys.exit(0)
''')

EXACT, TRUNC = "mul4u_exact", "mul4u_trunc_column_t3_z8"
HEADER = "top,family,bits_a,bits_b,signed,power_mw,clock_ns,pdk,status"
ROW_EXACT = f"{EXACT},exact,4,4,False,0.10,1.0,nangate45,ok"
ROW_TRUNC = f"{TRUNC},truncated,4,4,False,0.05,1.0,nangate45,ok"

LIBRARIES = {  # name -> rows (the designs folder holds the exact and truncated 4-bit designs)
    "good": [ROW_EXACT, ROW_TRUNC],
    "duplicate": [ROW_EXACT, ROW_TRUNC, f"{EXACT},exact,4,4,False,0.01,1.0,nangate45,ok"],
    "zero_power": [f"{EXACT},exact,4,4,False,0,1.0,nangate45,ok", ROW_TRUNC],
    "text_power": [ROW_EXACT, f"{TRUNC},truncated,4,4,False,abc,1.0,nangate45,ok"],
    "numeric_pdk": [f"{EXACT},exact,4,4,False,0.10,1.0,45,ok", f"{TRUNC},truncated,4,4,False,0.05,1.0,45,ok"],
    "bad_signed": [ROW_EXACT, f"{TRUNC},truncated,4,4,maybe,0.05,1.0,nangate45,ok"],
}

VERILOG = {
    "x_output": "module m(input [3:0] a, input [3:0] b, output [7:0] p);\n  assign p = 8'bx;\nendmodule\n",
    "loop": "module m(input [3:0] a, input [3:0] b, output reg [7:0] p);\n  always @* p = ~p;\nendmodule\n",
    "two_tops": ("module m1(input [3:0] a, input [3:0] b, output [7:0] p);\n  assign p = a * b;\nendmodule\n"
                 "module m2(input [3:0] a, input [3:0] b, output [7:0] p);\n  assign p = a + b;\nendmodule\n"),
    "other_ports": "module mul4u_exact(input [3:0] x, input [3:0] y, output [7:0] z);\n  assign z = x * y;\nendmodule\n",
}


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    """The corpus's inputs, written once."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "task.py").write_text(TASKS)
    designs = root / "designs"
    write_design(make("exact", 4), designs)
    write_design(make("truncated", 4, cut=3), designs)
    write_design(make("exact", 17), root / "wide")
    for name, rows in LIBRARIES.items():
        (root / "lib" / name).mkdir(parents=True)
        shutil.copytree(designs, root / "lib" / name / "designs")
        (root / "lib" / name / "results.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    lut_only = root / "lib" / "lut_missing"
    shutil.copytree(designs, lut_only / "designs")
    (lut_only / "results.csv").write_text(f"{HEADER},lut_path\n{ROW_EXACT},\n"
                                          "mul4u_ghost,truncated,4,4,False,0.05,1.0,nangate45,ok,"
                                          "luts/missing.npy\n")
    for name, text in VERILOG.items():
        (root / f"{name}.v").write_text(text)
    exact = json.loads((designs / f"{EXACT}.json").read_text())
    edits = {"out_bits_small": {"out_bits": 4}, "out_shift_huge": {"out_shift": 1000000},
             "out_shift_text": {"out_shift": "x"},
             "other_ports": {"verilog": "other_ports.v", "verilog_sha256":
                             hashlib.sha256(VERILOG["other_ports"].encode()).hexdigest()}}
    shutil.copy(designs / f"{EXACT}.v", root / f"{EXACT}.v")
    for name, change in edits.items():
        (root / f"{name}.json").write_text(json.dumps({**exact, **change}))
    assignments = root / "assign"
    shutil.copytree(designs, assignments / "hardware")
    good = {"bits": 4, "layers": {"0": TRUNC, "2": TRUNC},
            "designs": {TRUNC: f"hardware/{TRUNC}.json"}}
    (assignments / "garbage.pt").write_bytes(b"\x00garbage" * 100)
    (assignments / "garbage.npy").write_bytes(b"\x93NUMPYgarbage" * 10)
    variants = {"int_layer": {"layers": {"0": 3}}, "dict_layer": {"layers": {"0": {"x": 1}}},
                "int_design": {"designs": {TRUNC: 5}}, "dict_design": {"designs": {TRUNC: {"a": 1}}},
                "int_weights": {"weights": 7}, "garbage_weights": {"weights": "garbage.pt"},
                "garbage_npy": {"designs": {TRUNC: "garbage.npy"}}}
    for name, change in variants.items():
        (assignments / f"{name}.json").write_text(json.dumps({**good, **change}))
    (root / "seed.yaml").write_text("name: s\nbits: 4\npdks: [nangate45]\nseed: -1\nverify: off\n"
                                    "vectors: 50\ndesigns:\n  - type: exact\n")
    return root


def _search(task="base", library="good", *extra, out="out"):
    return ["dse", "search", "--task", f"task.py:{task}", "--library", f"lib/{library}/results.csv",
            "--bits", "4", "--columns", "4", "--method", "uniform", "--no-verify", "-o", out,
            *(extra or ("--budget", "0.9"))]


def _evaluate(assignment):
    return ["dse", "evaluate", "--task", "task.py:base", "--assignment", assignment]


D4 = f"designs/{EXACT}.json"
D17 = "wide/mul17u_exact.json"

# (case, argv relative to a copy of the corpus folder, where nothing may appear[, text the error
# line must hold where another one-line error would hide the bug])
CASES = [
    # §4 negative seeds
    ("verify-seed", ["verify", D4, "--method", "random", "--sim", "icarus", "--seed", "-1"]),
    ("metrics-seed", ["metrics", D17, "--seed", "-1"]),
    ("characterize-seed", ["characterize", D4, "--pdk", "nangate45", "--seed", "-1", "-o", "out.json"]),
    ("dse-seed", _search("base", "good", "--budget", "0.9", "--seed", "-1")),
    ("spec-seed", ["sweep", "seed.yaml", "-o", "out"]),
    # §4 NaN accepted
    ("verify-timeout-nan", ["verify", D4, "--method", "formal", "--timeout", "nan"]),
    ("dse-c-nan", _search("base", "good", "--budget", "0.9", "--c", "nan")),
    ("dse-max-drop-nan", _search("base", "good", "--max-drop", "nan"), "--max-drop"),  # not after the search
    ("dse-lambda-nan", _search("base", "good", "--budget", "0.9", "--lambda", "nan")),
    # §4 memory and unbounded reads
    ("metrics-samples-1e11", ["metrics", D17, "--samples", "100000000000"]),
    ("lut-verilog-dev-zero", ["lut", "--verilog", "/dev/zero", "-o", "out.npy"]),
    ("characterize-activity-dev-zero", ["characterize", D4, "--pdk", "nangate45", "--activity",
                                        "/dev/zero", "-o", "out.json"]),
    ("dse-evaluate-dev-zero", _evaluate("/dev/zero")),
    # §4 design JSONs and Verilog
    ("out-shift-text", ["lut", "out_shift_text.json", "-o", "out.npy"]),
    ("other-ports", ["characterize", "other_ports.json", "--pdk", "nangate45", "-o", "out.json"]),
    # §4 user task code
    ("task-shape-mismatch", _search("wrong_shape")),
    ("task-metric-string", _search("str_metric")),
    ("task-metric-raises", _search("raising_metric")),
    ("task-inf-weight", _search("inf_weight")),
    ("task-base-exception", _search("base_exception")),
    ("task-sys-exit", _search("exits")),
    # §4 dse evaluate values
    *[(f"evaluate-{name}", _evaluate(f"assign/{name}.json"))
      for name in ("int_layer", "dict_layer", "int_design", "dict_design", "int_weights",
                   "garbage_weights", "garbage_npy")],
    # §3 silently wrong results
    ("task-metric-nan", _search("nan_metric")),
    *[(f"library-{name}", _search("base", name), "row ")
      for name in ("duplicate", "zero_power", "text_power", "numeric_pdk", "bad_signed", "lut_missing")],
    ("verify-out-bits-small", ["verify", "out_bits_small.json", "--sim", "icarus"]),
    ("lut-out-shift-huge", ["lut", "out_shift_huge.json", "-o", "out.npy"]),
    ("verilog-x-output", ["lut", "--verilog", "x_output.v", "-o", "out.npy"]),
    ("verilog-loop", ["lut", "--verilog", "loop.v", "-o", "out.npy"]),
    ("verilog-two-tops", ["lut", "--verilog", "two_tops.v", "-o", "out.npy"]),
]


@pytest.mark.parametrize("argv,needle", [(c[1], c[2] if len(c) > 2 else "") for c in CASES],
                         ids=[c[0] for c in CASES])
def test_hostile_input_is_one_line_exit_2(w, argv, needle, tmp_path):
    cwd = tmp_path / "run"
    shutil.copytree(w, cwd, symlinks=True)
    before = set(cwd.iterdir())
    p = run_cli(*argv, cwd=cwd)
    assert_one_line_error(p)
    assert p.returncode == 2, p.stderr
    assert "internal error" not in p.stderr and needle in p.stderr
    assert set(cwd.iterdir()) == before  # no output, no temporary left


# -- the DSE evaluation cache ---------------------------------------------------------------------
def _summary(w, task, tmp_path, env):
    p = run_cli(*_search(task, out=tmp_path / f"out-{task}"), cwd=w, env=env)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_evaluation_cache_keys_cover_metric_model_data_and_weights(w, tmp_path):
    """A warm cache answers the same task (no evaluation) and re-measures every task that differs
    in its metric, its activation, its calibration data or its weights (each moves the result)."""
    env = {"AXHW_CACHE_DIR": str(tmp_path / "cache")}
    first = _summary(w, "base", tmp_path, env)
    assert first["evaluations"] == 1
    again = _summary(w, "base", tmp_path, env)
    assert again["evaluations"] == 0 and again["accuracy"] == first["accuracy"]
    for variant in ("const42", "tanh", "other_calibration", "other_weights"):
        s = _summary(w, variant, tmp_path, env)
        assert s["evaluations"] == 1, variant  # measured, not read from the cache
        assert (s["accuracy"], s["accuracy_exact"]) != (first["accuracy"], first["accuracy_exact"]), variant
    assert _summary(w, "const42", tmp_path, env)["accuracy"] == 42.0


def test_fingerprint_moves_with_closure_and_globals():
    """The metric's closure and the globals it reads are part of the key; an object that cannot
    be serialized turns the disk cache off instead of being ignored."""
    import threading

    import torch
    from torch import nn

    from axhw.dse import Task
    from axhw.dse.fingerprint import task_fingerprint

    def task(metric):
        torch.manual_seed(0)
        x = torch.randn(8, 4)
        return Task(nn.Sequential(nn.Linear(4, 3)), [x], [(x, torch.zeros(8, dtype=torch.long))],
                    metric=metric)

    def scaled(k):
        return lambda out, target: k * float(out.mean())

    keys = {task_fingerprint(task(scaled(k)), "v") for k in (1.0, 2.0)}
    assert len(keys) == 2
    assert task_fingerprint(task(scaled(1.0)), "v") == task_fingerprint(task(scaled(1.0)), "v")
    lock = threading.Lock()
    assert task_fingerprint(task(lambda out, target: float(lock.locked())), "v") is None


# -- library tables, design JSONs, characterize cache -------------------------------------------
@pytest.mark.parametrize("name,needle", [
    ("duplicate", "row 3 (mul4u_exact) repeats design"),
    ("zero_power", "row 1 (mul4u_exact): the exact reference has energy 0"),
    ("text_power", "row 2 (mul4u_trunc_column_t3_z8): power_mw 'abc' is not a number"),
    ("numeric_pdk", "row 1 (mul4u_exact): pdk 45 is not a PDK name"),
    ("bad_signed", "row 2 (mul4u_trunc_column_t3_z8): signed 'maybe' is not true or false"),
    ("lut_missing", "row 2 (mul4u_ghost): LUT"),
])
def test_library_table_refusals_name_the_row(w, name, needle):
    from axhw.dse import load_library
    from axhw.infra.errors import AxhwError

    with pytest.raises(AxhwError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        load_library(w / "lib" / name / "results.csv", None, 4)


def test_good_library_still_loads(w):
    from axhw.dse import load_library

    lib = load_library(w / "lib" / "good" / "results.csv", None, 4)
    assert lib.reference == EXACT and lib.energy(TRUNC) == pytest.approx(0.05)


def test_characterize_does_not_answer_an_edited_json_from_its_cache(w, tmp_path):
    """The cache key holds the JSON's golden model: an edited `params` is checked afresh."""
    env = {"AXHW_CACHE_DIR": str(tmp_path / "cache")}
    d = tmp_path / "d"
    shutil.copytree(w / "designs", d)
    ok = run_cli("characterize", d / f"{TRUNC}.json", "--pdk", "nangate45", "--vectors", "50",
                 "--json", env=env)
    assert ok.returncode == 0, ok.stderr
    edited = json.loads((d / f"{TRUNC}.json").read_text())
    edited["params"]["cut"] = 2
    (d / f"{TRUNC}.json").write_text(json.dumps(edited))
    p = run_cli("characterize", d / f"{TRUNC}.json", "--pdk", "nangate45", "--vectors", "50",
                "--json", env=env)
    assert_one_line_error(p)
    assert "differs from the golden model" in p.stderr


def test_bounded_read_refuses_past_the_limit(tmp_path):
    from axhw.infra.errors import AxhwError
    from axhw.infra.fileio import read_input

    f = tmp_path / "big"
    f.write_bytes(np.zeros(2048, np.uint8).tobytes())
    assert len(read_input(f, "test file", 2048)) == 2048
    with pytest.raises(AxhwError, match="larger than"):
        read_input(f, "test file", 2047)
