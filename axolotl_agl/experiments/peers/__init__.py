"""Peer defences for the drift benchmark (benchmark tooling, not the product). One module per peer.

Training-time peers run through the real Axolotl CLI with the plugin and a ``peer_baseline:`` block; each has ONE
strength knob, ``peer_baseline.weight``::

    plugins:
      - axolotl_agl.experiments.peers.PeerPlugin
    adapter: lora                      # every peer regularises a LoRA adapter
    peer_baseline:
      method: l2                       # l2 | ewc | constrained_sft | asft
      weight: 0.1                      # the knob (below)
      on_nonfinite: error              # optional: error | skip

* ``method: l2`` (:mod:`.l2`): λ·Σ_layers ‖ΔW‖²_F. ``weight`` = λ.
* ``method: ewc`` (:mod:`.ewc`): λ·Σ_layers Σ F⊙ΔW², F the diagonal Fisher of the base weights on the alignment
  data. ``weight`` = λ; also ``fisher_num_samples`` (128), ``fisher_cache_path``
  (default ``<output_dir>/ewc_fisher.safetensors``).
* ``method: constrained_sft`` (:mod:`.constrained_sft`): the task loss becomes the token-wise constrained objective
  against the adapter-disabled (aligned) model, stronger on the first reply tokens. ``weight`` = β (> 0; → 0 is
  plain SFT; the paper uses 0.1); also ``first_token_factor`` (5), ``bias_factor`` (20), ``bias_length`` (5).
* ``method: asft`` (:mod:`.asft`): λ·Σ_layers ‖(I − Ĉ)ΔW‖²_F with Ĉ from the alignment LoRA. ``weight`` = λ; also
  ``alignment_adapter`` (default: the ``adapter`` recorded in ``<base_model>/agl_source.json``).

Logged per step: ``peer/<method>`` (the unweighted sum over layers) and ``peer/penalty`` (λ times it); for
``constrained_sft`` ``peer/constrained_sft`` (the loss trained on) and ``peer/task_ce`` (plain cross-entropy).

Post-hoc peers are pure functions on adapter / checkpoint files (no training; each writes a plain PEFT adapter):

* Safe LoRA (:mod:`.safelora`): ``safelora_project(aligned, unaligned, adapter, out, threshold)``; knob
  ``threshold`` (project the layers whose Safe-LoRA similarity is below it).
* SafeMERGE (:mod:`.safemerge`): ``safemerge_adapter(aligned, adapter, out, tau)``; knob ``tau`` (merge the safety
  LoRA, by default the one recorded in ``<aligned>/agl_source.json``, into the layers whose similarity is below it,
  weights 0.8 / 0.2).

Replay needs no code (alignment rows added to ``datasets:``). Shared maths: :mod:`.directions`; the trainers'
common base: :mod:`.weight_penalty` (a :class:`~axolotl_agl.integration.penalised.PenalisedTrainer`).
Importing this package does not import Axolotl; ``PeerPlugin`` and ``PeerArgs`` are loaded on first access.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PeerArgs", "PeerPlugin", "safelora_project", "safemerge_adapter"]


def __getattr__(name: str) -> Any:
    if name == "PeerPlugin":
        from axolotl_agl.experiments.peers.plugin import PeerPlugin

        return PeerPlugin
    if name == "PeerArgs":
        from axolotl_agl.experiments.peers.config import PeerArgs

        return PeerArgs
    if name == "safelora_project":
        from axolotl_agl.experiments.peers.safelora import safelora_project

        return safelora_project
    if name == "safemerge_adapter":
        from axolotl_agl.experiments.peers.safemerge import safemerge_adapter

        return safemerge_adapter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
