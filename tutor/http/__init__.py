"""HTTP without a screen: what header values mean (semantics). No Textual."""
