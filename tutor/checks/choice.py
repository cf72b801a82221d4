from __future__ import annotations

from tutor.checks import register
from tutor.checks.base import CheckContext, CheckResult, shorten
from tutor.pack.specs_concept import ChoiceCheck


def _picked(answer: object) -> list[str]:
    if isinstance(answer, list):
        return [str(a) for a in answer]
    return [str(answer)]


@register("choice")
def check_choice(spec: ChoiceCheck, ctx: CheckContext) -> CheckResult:
    picked = _picked(ctx.need_answer())
    options = {o.id: o for o in spec.options}
    unknown = [p for p in picked if p not in options]
    if unknown:
        return CheckResult(False, f"'{unknown[0]}' is not one of the options ({', '.join(options)})", error=True)
    chosen = frozenset(picked)
    correct = spec.correct_ids

    def words(option_id: str) -> str:
        """An option as the learner saw it: its words, not its id."""
        return shorten(" ".join(options[option_id].text.split()).replace("`", ""), 60)

    def label(ids: frozenset[str] | list[str]) -> str:
        return "; ".join(words(i) for i in sorted(ids)) or "(none)"

    if chosen == correct:
        if spec.multiple:  # one reason per option picked, each under the option's words
            reasons = [f"- {words(i)}: {options[i].why}" for i in picked if options[i].why]
        else:
            reasons = [options[i].why or "" for i in picked]
        return CheckResult(True, "Right.", feedback="\n".join(r for r in reasons if r) or None)
    if not spec.multiple:
        option = options[picked[0]]
        return CheckResult(
            False,
            f"Not this one: {shorten(' '.join(option.text.split()), 80)}",
            feedback=option.why,
        )
    missing = sorted(correct - chosen)
    extra = sorted(chosen - correct)
    parts = []
    if extra:
        parts.append(f"{len(extra)} picked that should not be")
    if missing:
        parts.append(f"{len(missing)} right one{'s' if len(missing) != 1 else ''} not picked")
    why = "\n".join(f"- {words(i)}: {options[i].why}" for i in extra if options[i].why)
    return CheckResult(
        False,
        "Not quite: " + " and ".join(parts) + ".",
        got=label(chosen),
        first_difference=(f"“{words(extra[0])}” should not be picked" if extra else "a right one is not picked yet"),
        feedback=why or None,
    )
