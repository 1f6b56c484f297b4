"""Correction detection without an LLM: does a user message negate or redirect what Claude just did?

Precision matters more than recall (a false correction becomes a wrong preference), so praise, answers to
Claude's questions, reminders ("don't forget the tests") and plain questions are ruled out before the
correction cues are looked for."""

from __future__ import annotations

import re

_LEAD = re.compile(r"^(?:(?:hmm+|ok(?:ay)?|so|well|ugh|oh|uh|um+|hey|claude)[,.!]?\s+)+", re.I)

# Praise, thanks, agreement: a message that opens with these is not a correction ("No, that looks great").
_PRAISE = re.compile(
    r"\b(?:great|perfect|looks? (?:good|great|fine)|lgtm|thanks?|thank you|nice|awesome|excellent|"
    r"well done|good job|exactly what|that works|it works|works (?:now|great|perfectly)|sounds good|"
    r"no worries|no problem|no rush|all good|love it|brilliant|amazing)\b", re.I)

# Negations that are not about Claude's action: reminders, reassurance, the user's own state.
_BENIGN = re.compile(
    r"\b(?:don'?t|do not) (?:forget|hesitate|worry|know|mind|think so|see why not)\b|"
    r"^no,? i (?:haven'?t|have not|didn'?t|did not|don'?t|do not|am not|'m not|wasn'?t|was not)\b|"
    r"^no,? (?:it'?s|that'?s) (?:fine|ok|okay|good)\b|^no(?:pe)?,? (?:thanks|thank you)\b|"
    r"^(?:no|nope),? (?:not yet|just that|that'?s all|nothing else)\b|"
    r"^no,? (?:go ahead|please do|do it|carry on|continue|proceed)\b|^no (?:idea|clue)\b", re.I)

# Cues that the previous action was wrong or must change.
_STRONG = re.compile(
    r"that'?s (?:wrong|not (?:quite |exactly )?(?:right|correct|it|what|how|the))|"
    r"that is (?:wrong|not (?:quite |exactly )?(?:right|correct|what))|^wrong\b|"
    r"\b(?:this|that|it)(?:'s| is) (?:wrong|incorrect|broken)\b|\b(?:that|this|it) breaks\b|"
    r"\b(?:isn'?t|is not|wasn'?t|was not) what i\b|\bi (?:didn'?t|did not) ask\b|\bmisunderst|\bmisread\b|"
    r"\bgo back to (?:the )?(?:previous|old|original|last)\b|"
    r"\bnot what i (?:asked|wanted|meant|said|need)|\bi (?:said|told you|meant|asked (?:you )?(?:for|to))\b|"
    r"\b(?:revert|undo|roll (?:it |that |this )?back)\b|\bput (?:it|that|them|the [\w .-]{1,40}) back\b|"
    r"\byou (?:forgot|missed|broke|deleted|removed|changed|renamed|ignored|overwrote|shouldn'?t|should not|"
    r"didn'?t|did not|were supposed to)\b|\bwhy (?:did|are|do) you\b|"
    r"\bstill (?:not|doesn'?t|does not|isn'?t|is not|failing|fails|broken|the same|getting|seeing|erroring)\b|"
    r"\b(?:didn'?t|doesn'?t|did not|does not|isn'?t|is not) (?:work|fix|help|compile|run|pass)\b|"
    r"\bnot working\b|\bsame error\b|\bthat broke\b|\bit broke\b|\byou(?:'re| are) overcomplicat|"
    r"\bwrong (?:file|branch|function|place|directory|folder|approach|one|command|version|way|name|path)\b|"
    r"\bincorrect\b|\binstead\b|\brather than\b|\bnot like that\b|(?:^|please )never\b|"
    r"\bstop (?:adding|using|doing|changing|touching|editing|running|making|writing|creating|removing)\b|"
    r"\b(?:don'?t|do not|please don'?t|can you not|could you not|no need to) (?:use|change|add|touch|edit|"
    r"run|commit|push|remove|delete|create|modify|rename|put|do|make|write|mock|include|install|reformat|"
    r"rewrite|refactor|move|import|call|hardcode|hard-code|comment|print|log|skip|disable)\b", re.I)

_OPENING_NEGATION = re.compile(r"^(?:no+|nope|nah|wait|stop|hold on|not (?:like )?that)\b[\s,.!—–:;-]*", re.I)
_ACTUALLY = re.compile(r"^actually\b[\s,.!—–:;-]*", re.I)
_ACTUALLY_ADD = re.compile(r"^(?:one more|also|can you also|could you also|and|another)\b", re.I)
_ACTUALLY_REDIRECT = re.compile(
    r"^(?:let'?s not|let'?s (?:use|keep|go with|do)|use|keep|go with|we should|it should|you should|"
    r"change|switch|make it|don'?t|do not|no\b|the \w+ (?:is|are|should)|revert|leave|skip|remove)\b", re.I)


def is_correction(text: str, context: str | None = None) -> bool:
    """True when `text` negates or redirects Claude's previous action. `context` (what Claude had just
    done) only matters in that a message with no previous action to correct is never a correction."""
    if context is not None and not context.strip():
        return False
    t = " ".join(text.split())
    if not t or len(t) > 2000:
        return False
    t = _LEAD.sub("", t)
    head = t[:80]
    strong = bool(_STRONG.search(t))
    if _BENIGN.search(t) and not strong:
        return False
    if _PRAISE.search(head) and not _STRONG.search(head):
        return False
    m = _ACTUALLY.match(t)
    if m:
        rest = t[m.end():]
        if _ACTUALLY_ADD.match(rest):
            return strong
        return bool(_ACTUALLY_REDIRECT.match(rest)) or strong
    m = _OPENING_NEGATION.match(t)
    if m and (m.end() < len(t) or len(t) <= 6):
        # "wait, what does this do?" interrupts to ask, it does not redirect
        return strong or not (t.lower().startswith(("wait", "hold on")) and t.rstrip().endswith("?"))
    return strong
