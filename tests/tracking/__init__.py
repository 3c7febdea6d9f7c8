import dataclasses

from tracking.messages import Message

MADE = "(made here)"


def made_ids_blanked(messages: list[Message] | None) -> list[Message] | None:
    """``messages`` with each id made here (the client sent none, so it is a
    fresh uuid: ``deduplicate=False``) replaced by :data:`MADE`, so that two
    translations of one payload compare equal."""
    if messages is None:
        return None
    return [
        m if m.deduplicate else dataclasses.replace(m, message_id=MADE)
        for m in messages
    ]
