"""Anonymous replies to comments: HR answers a comment, and its writer, holding a secret link, answers
back; neither learns who the other is (``services`` says how, ``docs/anonymity.md`` what remains)."""
