"""The stock Qwen2.5-VL chat template, byte for byte.

This is the ``chat_template`` the released Qwen2.5-VL-Instruct processors (and the VisionThink
checkpoints fine-tuned from them) ship. It has no ``tools=`` support: VisionThink declares its
tool inside the system prompt instead (protocol §1). The tiny checkpoint writer bundles it so
the offline model renders conversations exactly like the real one.

Example:
    >>> QWEN2_5_VL_CHAT_TEMPLATE.startswith("{% set image_count = namespace(value=0) %}")
    True
"""

from __future__ import annotations

from typing import Final

__all__ = ["QWEN2_5_VL_CHAT_TEMPLATE"]

QWEN2_5_VL_CHAT_TEMPLATE: Final[str] = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
