"""The fused overlap numerator shared by the per-module and the stacked penalty (leading dimension ``G``)."""

from __future__ import annotations

import torch


class FusedOverlapNumerator(torch.autograd.Function):
    """``N_g = Σ_pq m_pq |A|_pq |W − A|_pq`` of ``G`` stacked modules (``A = a_left a_right``, ``W = dw_left dw_right``),
    over row chunks, with its gradient accumulated *during the forward pass*.

    ``N`` over row chunks, with its gradient accumulated *during the forward pass*.

    ``N`` is a scalar, so its gradient w.r.t. the four low-rank factors can be summed chunk by chunk while
    the chunk's entries exist, and the backward pass only scales the stored sums by the incoming
    gradient. With ``A = a_left a_right``, ``W = dw_left dw_right``, ``T = W − A = [dw_left, −a_left]
    [dw_right; a_right]`` and ``m_pq = m_p m_q``: ``∂N/∂W = m ∘ |A| ∘ sgn T`` and
    ``∂N/∂A = m ∘ (sgn A ∘ |T| − |A| ∘ sgn T)`` (``sgn 0 = 0``, as autograd's ``abs``); then
    ``∂N/∂left_rows = (∂N/∂·) rightᵀ`` and ``∂N/∂right = Σ_chunks left_rowsᵀ (∂N/∂·)``. The metric is
    folded into the small factors (``m_p`` into the left rows, ``m_q`` into the right factors), so the
    per-entry work is 9 element-wise passes and 6 thin matrix products per chunk. Nothing of size
    ``rows × d_in`` outlives its chunk, nothing is recomputed, and what is kept for backward has the size
    of the factors. The metric is a constant here (it comes from the Fisher summary).
    """

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        dw_left: torch.Tensor,
        a_left: torch.Tensor,
        dw_right: torch.Tensor,
        a_right: torch.Tensor,
        metric_rows: torch.Tensor,
        metric_cols: torch.Tensor,
        chunk_rows: int,
    ) -> torch.Tensor:
        want_grad = any(ctx.needs_input_grad[:4])
        total = dw_left.new_zeros(dw_left.shape[0])
        t_left = torch.cat([dw_left, -a_left], dim=2)
        t_right = torch.cat([dw_right, a_right], dim=1)
        mc = metric_cols[:, :, None]
        if want_grad:
            dw_right_m, a_right_m = dw_right * metric_cols[:, None, :], a_right * metric_cols[:, None, :]
            g_dw_left, g_a_left = torch.empty_like(dw_left), torch.empty_like(a_left)
            g_dw_right, g_a_right = torch.zeros_like(dw_right), torch.zeros_like(a_right)
        for start in range(0, dw_left.shape[1], chunk_rows):
            rows = slice(start, start + chunk_rows)
            mr = metric_rows[:, rows]
            abs_a = a_left[:, rows] @ a_right
            abs_t = t_left[:, rows] @ t_right
            sign_a, sign_t = abs_a.sign(), abs_t.sign()
            abs_a.abs_()
            abs_t.abs_()
            total = total + (mr * ((abs_a * abs_t) @ mc).squeeze(-1)).sum(-1)
            if not want_grad:
                continue
            grad_w = sign_t.mul_(abs_a)
            grad_a = sign_a.mul_(abs_t).sub_(grad_w)
            del abs_a, abs_t
            g_dw_left[:, rows] = mr[:, :, None] * (grad_w @ dw_right_m.mT)
            g_a_left[:, rows] = mr[:, :, None] * (grad_a @ a_right_m.mT)
            g_dw_right.baddbmm_((dw_left[:, rows] * mr[:, :, None]).mT, grad_w)
            g_a_right.baddbmm_((a_left[:, rows] * mr[:, :, None]).mT, grad_a)
        if want_grad:
            scale_cols = metric_cols[:, None, :]
            ctx.save_for_backward(g_dw_left, g_a_left, g_dw_right.mul_(scale_cols), g_a_right.mul_(scale_cols))
        return total

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: torch.autograd.function.FunctionCtx, grad_output: torch.Tensor) -> tuple:
        grads = [g * grad_output[:, None, None] for g in ctx.saved_tensors]
        return (*grads, None, None, None)
