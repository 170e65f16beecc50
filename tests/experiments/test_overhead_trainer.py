"""The pure helpers of ``benchmarks/overhead_trainer.py``: run order, medians without the warm-up steps, the
per-method summary, the AGL / LoRA and Fisher-pass ratios, and the two runs' configs (same data, batches, seed);
and the byte counting behind the meta-device table of ``benchmarks/overhead.py``."""

import statistics
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))
import overhead  # noqa: E402
import overhead_trainer as ot  # noqa: E402


def record(step_wall, step_cpu=None, train_peak=100, before_peak=90, cuda=None):
    """A ``step_times.json`` record as ``benchmarks/step_timer.py`` writes it."""
    memory = {"peak_rss_train_bytes": train_peak, "peak_rss_before_train_bytes": before_peak}
    if cuda is not None:
        memory["cuda_train"] = {"max_memory_allocated_bytes": cuda, "max_memory_reserved_bytes": 2 * cuda}
    return {"step_wall": step_wall, "step_cpu": step_cpu or [v / 2 for v in step_wall], "memory": memory}


def test_run_plan_interleaves_methods():
    assert ot.run_plan(3) == [("lora", 0), ("agl", 0), ("lora", 1), ("agl", 1), ("lora", 2), ("agl", 2)]
    with pytest.raises(ValueError):
        ot.run_plan(0)


def test_median_leaves_out_the_warmup_steps():
    steps = [9.0, 8.0, 7.0, 1.0, 3.0, 2.0]
    assert ot.median_excluding_warmup(steps, 3) == 2.0
    assert ot.median_excluding_warmup(steps, 0) == statistics.median(steps)
    assert ot.after_warmup(steps, 4) == [3.0, 2.0]
    with pytest.raises(ValueError, match="raise --steps"):
        ot.median_excluding_warmup(steps[:3], 3)
    with pytest.raises(ValueError):
        ot.after_warmup(steps, -1)


def test_summarise_method_pools_steps_and_takes_memory_medians():
    runs = [
        record([50, 50, 50, 1, 2, 3], train_peak=100, before_peak=300),
        record([50, 50, 50, 4, 5, 6], train_peak=200, before_peak=90),
        record([50, 50, 50, 7, 8, 9], train_peak=300, before_peak=90),
    ]
    out = ot.summarise_method(runs, warmup=3)
    assert out["runs"] == 3 and out["steps_counted"] == 9
    assert out["step_wall"] == 5 and out["step_cpu"] == 2.5  # median of 1..9 (cpu = wall / 2)
    assert out["per_run_step_wall"] == [2, 5, 8]
    assert out["peak_rss_train_bytes"] == 200
    assert out["peak_rss_process_bytes"] == 300  # max(before, train) per run: 300, 200, 300
    assert out["cuda_peak_train_bytes"] is None
    with pytest.raises(ValueError):
        ot.summarise_method([])


def test_process_peak_and_cuda_peak():
    assert ot.process_peak_rss({"peak_rss_before_train_bytes": 5, "peak_rss_train_bytes": 3}) == 5
    assert ot.process_peak_rss({"peak_rss_train_bytes": 3}) == 3
    assert ot.process_peak_rss({}) is None
    assert ot.cuda_peak(record([1], cuda=7)["memory"]) == 7
    assert ot.cuda_peak({"cuda_train": None}) is None


def test_ratio_guards_missing_values():
    assert ot.ratio(3.0, 2.0) == 1.5
    assert ot.ratio(None, 2.0) is None
    assert ot.ratio(1.0, None) is None
    assert ot.ratio(1.0, 0.0) is None


def test_fisher_summary_against_the_mean_forward_backward():
    fwd = {"batch_size": 8, "examples": 4, "tokens": 400, "padded_tokens": 480}
    fisher = {
        "wall_seconds": 6.0,
        "cpu_seconds": 12.0,
        "metadata_seconds": 5.9,
        "examples": 4,
        "tokens": 400,
        "fisher_batch_size": 4,
        "forward_backward_before": fwd | {"wall_seconds": 3.0, "cpu_seconds": 5.0},
        "forward_backward_after": fwd | {"wall_seconds": 1.0, "cpu_seconds": 3.0},
    }
    out = ot.fisher_summary(fisher)
    assert out["forward_backward_wall_seconds"] == 2.0 and out["forward_backward_cpu_seconds"] == 4.0
    assert out["fisher_over_forward_backward_wall"] == 3.0
    assert out["fisher_over_forward_backward_cpu"] == 3.0
    assert out["fisher_tokens_per_second_wall"] == pytest.approx(400 / 6)
    assert out["forward_backward_tokens_per_second_wall"] == 200
    assert out["forward_backward_batch_size"] == 8
    only_after = ot.fisher_summary(fisher | {"forward_backward_before": None})
    assert only_after["fisher_over_forward_backward_wall"] == 6.0
    assert ot.fisher_summary(None) is None and ot.fisher_summary({}) is None


def test_assemble_ratios_side_by_side_with_targets():
    lora_runs = [record([9, 9, 9, 2, 2, 2], train_peak=100), record([9, 9, 9, 4, 4, 4], train_peak=100)]
    agl_runs = [record([9, 9, 9, 3, 3, 3], train_peak=110), record([9, 9, 9, 4, 4, 4], train_peak=102)]
    lora, agl = ot.summarise_method(lora_runs), ot.summarise_method(agl_runs)
    fisher = ot.fisher_summary(
        {
            "wall_seconds": 3.0,
            "cpu_seconds": 3.0,
            "forward_backward_after": {"wall_seconds": 2.0, "cpu_seconds": 1.0, "batch_size": 8},
        }
    )
    out = ot.assemble_ratios(lora, agl, list(zip(lora_runs, agl_runs, strict=True)), fisher)
    assert out["step_time_wall"] == {"value": 3.5 / 3.0, "target": 1.05}
    assert out["step_time_cpu"]["value"] == pytest.approx(3.5 / 3.0)
    assert out["step_time_wall_per_pair"] == [1.5, 1.0]
    assert out["peak_rss_train"] == {"value": 1.06, "target": 1.03}
    assert out["cuda_peak_train"]["value"] is None
    assert out["fisher_pass_over_forward_backward_wall"] == {"value": 1.5, "target": 1.5}
    assert out["fisher_pass_over_forward_backward_cpu"]["value"] == 3.0
    assert ot.assemble_ratios(lora, agl)["fisher_pass_over_forward_backward_wall"]["value"] is None


def test_lora_and_agl_configs_share_model_data_batches_and_seed(tmp_path):
    args = (Path("/m"), Path("/data/task.jsonl"))
    lora = ot.run_config("lora", *args, tmp_path / "lora" / "out", tmp_path, "smollm2", 20)
    agl = ot.run_config("agl", *args, tmp_path / "agl" / "out", tmp_path, "smollm2", 20)
    assert lora["plugins"] == [ot.TIMER_PLUGIN]
    assert agl["plugins"] == ["axolotl_agl.AlignGuardPlugin", ot.TIMER_PLUGIN]
    assert lora["adapter"] == "lora" and agl["adapter"] == "alignguard"
    assert agl["alignguard"]["fisher_cache_path"] == str(tmp_path / ot.FISHER_CACHE)
    assert agl["alignguard"]["fisher_num_samples"] == ot.MODELS["smollm2"]["fisher_samples"]
    differ = {k for k in lora.keys() | agl.keys() if lora.get(k) != agl.get(k)}
    assert differ == {"adapter", "plugins", "alignguard", "output_dir"}
    assert lora["dataset_prepared_path"] == str(tmp_path / "prepared")
    assert lora["max_steps"] == 20 and lora["micro_batch_size"] == 8
    tiny = ot.run_config("agl", *args, tmp_path / "t" / "out", tmp_path, "tiny", 20)
    assert tiny["alignguard"]["rank_k"] == 8


# ---------------------------------------------------------------------------------------------------------------------
# benchmarks/overhead.py: bytes on the meta device
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_live_bytes_counts_new_storages_until_freed(device):
    x = torch.empty(1000, device=device)  # existed before: not counted, nor are its views
    with overhead.LiveBytes() as tracker:
        x_view = x.view(10, 100)
        y = x * 2  # +4000
        y_view = y.view(10, 100)  # a view of a new storage: counted once
        z = y + 1  # +4000: peak 8000
        del y, y_view
        w = z * 3  # y is gone: 4000 + 4000
        del z
        total = w.sum()  # + 4
    assert tracker.peak == 8000
    assert tracker.sweep() == 4004
    assert tracker.ops == 6
    del x_view, w, total
    assert tracker.sweep() == 0


def test_meta_penalty_bytes_of_summaries_and_gradients():
    # (name, d_in, d_out): two modules of one shape in different layers, one of another shape
    modules = [
        ("layers.0.self_attn.q_proj", 64, 32),
        ("layers.1.self_attn.q_proj", 64, 32),
        ("layers.0.mlp.down_proj", 32, 64),
    ]
    dims = [(d_in, d_out) for _, d_in, d_out in modules]
    k = 4
    penalty, factors, fishers = overhead.meta_penalty(modules, k)
    assert len(penalty.groups) == 2
    # per module: output and input factor, each vectors (d × k) + values (k) + residual, float32
    assert overhead.tensor_bytes(fishers) == sum(4 * ((d_in + d_out) * k + 2 * k + 2) for d_in, d_out in dims)
    # q/k/v of one layer share one input factor object: counted once
    shared = [("layers.0.self_attn.q_proj", 64, 32), ("layers.0.self_attn.k_proj", 64, 32)]
    _, _, shared_fishers = overhead.meta_penalty(shared, k)
    assert shared_fishers[0].input_factor is shared_fishers[1].input_factor
    assert overhead.tensor_bytes(shared_fishers) == 4 * ((2 * 32 + 64) * k + 3 * k + 3)
    workspace = overhead.penalty_workspace(penalty, factors, overlap_samples=0)
    lora_grads = sum(4 * overhead.R * (d_in + d_out) for d_in, d_out in dims)
    assert workspace["after_backward_bytes"] == lora_grads  # only the gradients of A and B stay
    assert workspace["peak_bytes"] > lora_grads and workspace["operators"] > 0
    assert all(a.grad is not None and a.grad.device.type == "meta" for a, _ in factors)
