"""Built-in question library for Polso pulse surveys (DESIGN.md §3, "Pulse surveys").

Plain data, no Flask or SQLAlchemy. Each entry is a question template that HR can
add to a survey:

- ``key``: stable slug, never renamed (surveys and results refer to it);
- ``kind``: ``"enps"`` (0..10) or ``"likert"`` (1..5, agree/disagree);
- ``driver``: engagement driver slug, a key of ``DRIVER_LABELS``;
- ``text_en`` / ``text_it``: the question in English and Italian.

Likert statements are first-person and positively worded, so that "favorable"
(4–5) always means a good result. The only placeholder is ``{company}``, filled
for display by ``fill_company``. There is exactly one eNPS question.
"""

from __future__ import annotations

LIBRARY: tuple[dict, ...] = (
    {
        "key": "enps",
        "kind": "enps",
        "driver": "enps",
        "text_en": "How likely are you to recommend {company} as a place to work?",
        "text_it": "Con quale probabilità consiglierebbe {company} come luogo di lavoro?",
    },
    # Recognition
    {
        "key": "recognition_valued",
        "kind": "likert",
        "driver": "recognition",
        "text_en": "I receive recognition when I do good work.",
        "text_it": "Ricevo riconoscimento quando lavoro bene.",
    },
    {
        "key": "recognition_contribution",
        "kind": "likert",
        "driver": "recognition",
        "text_en": "My contributions are appreciated by the people I work with.",
        "text_it": "Il mio contributo è apprezzato dalle persone con cui lavoro.",
    },
    # Growth
    {
        "key": "growth_learning",
        "kind": "likert",
        "driver": "growth",
        "text_en": "I have opportunities to learn and grow here.",
        "text_it": "Qui ho opportunità di imparare e crescere.",
    },
    {
        "key": "growth_career_path",
        "kind": "likert",
        "driver": "growth",
        "text_en": "I can see a clear path for my career at {company}.",
        "text_it": "Vedo un chiaro percorso di crescita professionale per me presso {company}.",
    },
    # Manager support
    {
        "key": "manager_support_development",
        "kind": "likert",
        "driver": "manager_support",
        "text_en": "My manager supports my professional development.",
        "text_it": "Il mio responsabile sostiene il mio sviluppo professionale.",
    },
    {
        "key": "manager_support_feedback",
        "kind": "likert",
        "driver": "manager_support",
        "text_en": "My manager gives me useful feedback on my work.",
        "text_it": "Il mio responsabile mi dà feedback utili sul mio lavoro.",
    },
    # Workload
    {
        "key": "workload_manageable",
        "kind": "likert",
        "driver": "workload",
        "text_en": "My workload is manageable.",
        "text_it": "Il mio carico di lavoro è sostenibile.",
    },
    {
        "key": "workload_time",
        "kind": "likert",
        "driver": "workload",
        "text_en": "I have enough time to do my work well.",
        "text_it": "Ho il tempo necessario per svolgere bene il mio lavoro.",
    },
    # Wellbeing
    {
        "key": "wellbeing_balance",
        "kind": "likert",
        "driver": "wellbeing",
        "text_en": "I can maintain a healthy balance between my work and my personal life.",
        "text_it": "Riesco a mantenere un sano equilibrio tra lavoro e vita privata.",
    },
    {
        "key": "wellbeing_cared_for",
        "kind": "likert",
        "driver": "wellbeing",
        "text_en": "I feel that {company} genuinely cares about my wellbeing.",
        "text_it": "Sento che {company} ha davvero a cuore il mio benessere.",
    },
    # Other drivers
    {
        "key": "alignment_goals",
        "kind": "likert",
        "driver": "alignment",
        "text_en": "I understand how my work contributes to the goals of {company}.",
        "text_it": "Capisco in che modo il mio lavoro contribuisce agli obiettivi di {company}.",
    },
    {
        "key": "belonging_feel",
        "kind": "likert",
        "driver": "belonging",
        "text_en": "I feel I belong here.",
        "text_it": "Sento di far parte di questa organizzazione.",
    },
    {
        "key": "autonomy_how",
        "kind": "likert",
        "driver": "autonomy",
        "text_en": "I have the freedom to decide how I do my work.",
        "text_it": "Ho la libertà di decidere come svolgere il mio lavoro.",
    },
    {
        "key": "communication_informed",
        "kind": "likert",
        "driver": "communication",
        "text_en": "I am kept well informed about decisions that affect my work.",
        "text_it": "Ricevo informazioni adeguate sulle decisioni che riguardano il mio lavoro.",
    },
    {
        "key": "purpose_meaningful",
        "kind": "likert",
        "driver": "purpose",
        "text_en": "The work I do is meaningful to me.",
        "text_it": "Il lavoro che svolgo ha un significato per me.",
    },
    {
        "key": "tools_resources_available",
        "kind": "likert",
        "driver": "tools_resources",
        "text_en": "I have the tools and resources I need to do my job well.",
        "text_it": "Ho gli strumenti e le risorse necessari per svolgere bene il mio lavoro.",
    },
    {
        "key": "psychological_safety_voice",
        "kind": "likert",
        "driver": "psychological_safety",
        "text_en": "I can voice a contrary opinion without fear of negative consequences.",
        "text_it": "Posso esprimere un'opinione contraria senza temere conseguenze negative.",
    },
    {
        "key": "teamwork_support",
        "kind": "likert",
        "driver": "teamwork",
        "text_en": "I can count on my colleagues when I need help.",
        "text_it": "Posso contare sui miei colleghi quando ho bisogno di aiuto.",
    },
)

DRIVER_LABELS: dict[str, tuple[str, str]] = {
    "enps": ("eNPS", "eNPS"),
    "recognition": ("Recognition", "Riconoscimento"),
    "growth": ("Growth", "Crescita professionale"),
    "manager_support": ("Manager support", "Supporto del responsabile"),
    "workload": ("Workload", "Carico di lavoro"),
    "wellbeing": ("Wellbeing", "Benessere"),
    "alignment": ("Alignment", "Allineamento agli obiettivi"),
    "belonging": ("Belonging", "Senso di appartenenza"),
    "autonomy": ("Autonomy", "Autonomia"),
    "communication": ("Communication", "Comunicazione"),
    "purpose": ("Purpose", "Senso del lavoro"),
    "tools_resources": ("Tools and resources", "Strumenti e risorse"),
    "psychological_safety": ("Psychological safety", "Sicurezza psicologica"),
    "teamwork": ("Teamwork", "Lavoro di squadra"),
}

# Answer labels for Likert items, index 0 = score 1 ... index 4 = score 5.
LIKERT_LABELS_EN: tuple[str, str, str, str, str] = (
    "Strongly disagree",
    "Disagree",
    "Neither agree nor disagree",
    "Agree",
    "Strongly agree",
)
LIKERT_LABELS_IT: tuple[str, str, str, str, str] = (
    "Per niente d'accordo",
    "In disaccordo",
    "Né d'accordo né in disaccordo",
    "D'accordo",
    "Del tutto d'accordo",
)

# Labels for the two ends of the eNPS scale (0 and 10).
ENPS_ANCHORS_EN: tuple[str, str] = ("Not at all likely", "Extremely likely")
ENPS_ANCHORS_IT: tuple[str, str] = ("Per niente probabile", "Estremamente probabile")


def fill_company(text: str, company: str) -> str:
    """A library text as people read it: the ``{company}`` placeholder replaced by the company's name."""
    return text.replace("{company}", company)
