"""BLIP-2 retrieval (`Blip2ForImageTextRetrieval`): Q-Former ITC embeddings, frames pooled over time.

BLIP-2 has no single image vector: the Q-Former turns a frame into `num_query_tokens` (32)
projected, normalised query embeddings, and the ITC score of a pair is the best query token's
cosine with the text's [CLS] projection. A gallery needs one vector per clip, so each frame's
query embeddings are averaged (as TF-CoVR's BLIP-2 baseline does: UCF-CRCV/TF-CoVR
src/model/blip2/blip2_cir_visual.py, "mean over all query tokens" of the normalised
`vision_proj` features), then the frames are pooled like any frame-pooling model.
The transformers forward needs an image and a text together, so the two towers are run here
through the model's own submodules exactly as its ITC branch (`use_image_text_matching_head=False`)
runs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vidret.adapters.fusion import l2_normalize
from vidret.adapters.frame_pooling import FramePoolingAdapter

if TYPE_CHECKING:
    import torch


class Blip2RetrievalAdapter(FramePoolingAdapter):
    """Frames -> Q-Former ITC query embeddings -> mean over query tokens -> pool over time.

    Args: see `FramePoolingAdapter`; `model` must be a `Blip2ForImageTextRetrieval`.

    Raises:
        ValueError: a model without the retrieval heads (`qformer`, `vision_projection`, ...).
    """

    required_methods = ("vision_model", "qformer", "query_tokens", "vision_projection", "text_projection", "embeddings")

    def image_features(self, pixel_values: "torch.Tensor") -> "torch.Tensor":
        import torch

        model = self.model
        kwargs = {"interpolate_pos_encoding": True} if self.interpolate_pos_encoding else {}
        image_embeds = model.vision_model(pixel_values=pixel_values, **kwargs).last_hidden_state
        image_mask = torch.ones(image_embeds.shape[:-1], dtype=torch.long, device=image_embeds.device)
        query_tokens = model.query_tokens.expand(image_embeds.shape[0], -1, -1)
        queries = model.qformer(
            query_embeds=query_tokens, encoder_hidden_states=image_embeds, encoder_attention_mask=image_mask
        ).last_hidden_state
        # The Q-Former is kept in float32 in these checkpoints (`_keep_in_fp32_modules`).
        per_query = l2_normalize(model.vision_projection(queries.to(model.vision_projection.weight.dtype)).float())
        return per_query.mean(dim=1)  # (frames, D): mean over the query tokens

    def text_features(self, tokens: dict[str, "torch.Tensor"]) -> "torch.Tensor":
        model = self.model
        embeds = model.embeddings(input_ids=tokens["input_ids"])
        hidden = model.qformer(
            query_embeds=embeds, query_length=0, attention_mask=tokens.get("attention_mask")
        ).last_hidden_state
        return model.text_projection(hidden[:, 0, :].to(model.text_projection.weight.dtype))  # [CLS]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "query_token_pooling": "mean"}
