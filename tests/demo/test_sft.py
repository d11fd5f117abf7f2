"""Stage 1 of the demo recipe: masked labels, the shared-prefix loss, a resumable Trainer run."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
from transformers import AutoModelForImageTextToText, AutoProcessor

from training.demo.__main__ import main
from training.demo.config import DemoConfig
from training.demo.curves import ACCURACY_LABELS
from training.demo.recipe import demo_corpus, prepare_data
from training.demo.sft import IGNORE, conversation_loss, encode_batch, run_sft
from training.demo.trajectories import render_trajectory
from visionthink_agent.backends.qwen.tiny import TINY_SIZES, build_untrained_checkpoint
from visionthink_agent.synthetic import make_synthetic_samples

SIZES = dataclasses.replace(TINY_SIZES, extra_corpus=demo_corpus())


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_untrained_checkpoint(tmp_path_factory.mktemp("init"), seed=3, sizes=SIZES)


@pytest.fixture(scope="module")
def processor(checkpoint: Path):
    return AutoProcessor.from_pretrained(checkpoint)


def _trajectories(fmt: str = "visionthink", n: int = 4):
    samples = make_synthetic_samples(n, preset="demo", split="train", fine_every=2)
    return [render_trajectory(s, fmt) for s in samples]  # type: ignore[arg-type]


def test_labels_are_the_assistant_turns_and_nothing_else(processor) -> None:
    trajectories = _trajectories()
    batch = encode_batch(trajectories, processor)
    for row, trajectory in enumerate(trajectories):
        labelled = batch["labels"][row][batch["labels"][row] != IGNORE]
        expected = "".join(
            m["content"] + "<|im_end|>" for m in trajectory.messages if m["role"] == "assistant"
        )
        assert processor.tokenizer.decode(labelled) == expected
    # the shared prefix is the system prompt and the user template, up to the first image
    prefix = int(batch["prefix_len"])
    text = processor.tokenizer.decode(batch["input_ids"][0, :prefix])
    assert text.endswith("Here is the image and question:\n<|vision_start|>")


@pytest.mark.parametrize("fmt", ["visionthink", "low"])
def test_shared_prefix_loss_and_gradients_equal_the_full_forward(
    checkpoint, processor, fmt
) -> None:
    torch.manual_seed(0)
    model = AutoModelForImageTextToText.from_pretrained(checkpoint, dtype=torch.float32)
    batch = encode_batch(_trajectories(fmt), processor)
    assert int(batch["prefix_len"]) > 10
    loss, _, _ = conversation_loss(model, batch)
    loss.backward()
    shared = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    out = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        mm_token_type_ids=batch["mm_token_type_ids"],
        pixel_values=batch["pixel_values"],
        image_grid_thw=batch["image_grid_thw"],
        labels=batch["labels"],
    )
    out.loss.backward()
    assert torch.allclose(loss, out.loss, rtol=1e-5)
    for name, param in model.named_parameters():
        if param.grad is not None:
            assert torch.allclose(shared[name], param.grad, atol=1e-6, rtol=1e-4), name


@pytest.mark.slow
def test_recipe_trains_resumes_and_writes_verl_data(tmp_path: Path) -> None:
    cfg = DemoConfig(
        out_dir=tmp_path,
        train_samples=32,
        val_samples=8,
        batch_size=8,
        epochs=1,
        eval_every=2,
        save_every=2,
        threads=1,
        sizes=TINY_SIZES,
    )
    data = prepare_data(cfg, progress=False)
    assert not data.reused
    assert prepare_data(cfg, progress=False).reused
    table = pq.read_table(cfg.train_parquet)
    assert table.num_rows == 32
    assert set(table.column("agent_name").to_pylist()) == {"visionthink_agent"}
    first = run_sft(cfg)  # 32 samples in batches of one shape: a few partial batches
    assert 4 <= first.steps <= 7
    saved = sorted(int(p.name.split("-")[1]) for p in cfg.sft_dir.glob("checkpoint-*"))
    assert saved[-1] == first.steps
    more = run_sft(dataclasses.replace(cfg, epochs=2))  # resumes from the last checkpoint
    assert more.steps == 2 * first.steps
    rows = [json.loads(line) for line in (cfg.sft_dir / "metrics.jsonl").read_text().splitlines()]
    val_steps = [r["step"] for r in rows if r["kind"] == "val"]
    assert val_steps == sorted(set(val_steps))  # the resumed run appended, nothing repeated
    assert val_steps[-1] == more.steps
    assert len(val_steps) >= more.steps // 2
    last_val = next(r for r in reversed(rows) if r["kind"] == "val")
    scores = set(last_val) - {"kind", "step", "epoch", "val_loss"}
    assert "vt_call" in scores
    assert scores <= set(ACCURACY_LABELS)  # every validation score is plotted
    assert (cfg.sft_dir / "learning_curve.png").stat().st_size > 10_000
    AutoModelForImageTextToText.from_pretrained(cfg.sft_final)
    assert AutoProcessor.from_pretrained(cfg.sft_final).tokenizer.encode("<|image_pad|>")


def test_grpo_stage_needs_the_sft_checkpoint(tmp_path: Path, capsys) -> None:
    assert main(["--stage", "grpo", "--out", str(tmp_path)]) == 2
    assert "run --stage sft first" in capsys.readouterr().err


def test_zoom_variant_writes_zoom_data_and_a_zoom_tokenizer(tmp_path: Path) -> None:
    from visionthink_agent import protocol

    cfg = DemoConfig(
        out_dir=tmp_path, train_samples=4, val_samples=2, tool_mode="zoom", sizes=TINY_SIZES
    )
    prepare_data(cfg, progress=False)
    prompts = pq.read_table(cfg.train_parquet).column("prompt").to_pylist()
    assert {p[0]["content"] for p in prompts} == {protocol.system_prompt("zoom")}
    call = '{"name": "image_zoom_in_tool", "arguments": {"bbox_2d": ['
    zoom_tokens = len(AutoProcessor.from_pretrained(cfg.init_dir).tokenizer.encode(call))
    resize = dataclasses.replace(cfg, tool_mode="resize")
    assert not prepare_data(resize, progress=False).reused  # the mode is part of the manifest
    resize_tokens = len(AutoProcessor.from_pretrained(cfg.init_dir).tokenizer.encode(call))
    assert zoom_tokens < resize_tokens  # the zoom tokenizer learnt the call from its corpus


def test_shipping_a_zoom_variant_is_refused(tmp_path: Path, capsys) -> None:
    assert main(["--tool-mode", "zoom", "--ship", "--out", str(tmp_path)]) == 2
    assert "--ship copies the resize model" in capsys.readouterr().err
