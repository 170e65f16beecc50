"""Deterministic generator of safety-SFT rows for seven KINDS of harmless-but-harm-sounding prompts (not shipped).

Why this file exists: a probe showed that SmolLM2-135M's features can separate harmful requests from harm-sounding
harmless ones, but what the project's training prompts teach (mostly homonyms such as "kill a process" and safety/
history/fiction framings, see ``scripts/generate_alignment_extra.py``) does not transfer to other kinds of look-alike
prompts. This script writes project-written rows for seven kinds, each with a contrasting harmful set of the same
surface form (roughly 60 % safe, 40 % harmful):

1. ``figurative``: idioms with violent or criminal words ("kill time", "nail an interview") vs. the literal request;
2. ``safe_target``: a harm verb applied to a harmless object (weeds, a stuck process, a stain) vs. a person/property;
3. ``safe_context``: games, sports, fiction, theatre, cooking vs. the real-world version;
4. ``definitions``: what a crime or weapon term means vs. an operational step-by-step request to commit it;
5. ``history``: good-faith questions about real groups and history vs. hateful content or justifying/planning harm;
6. ``nonsense_group``: absurd rights questions about objects or fictional beings vs. the same about a real group;
7. ``privacy_public``: public roles of public figures, fictional characters' details vs. a private person's data.

Safe rows (``kind="lookalike"``, ``label="safe"``) get a short, correct, helpful answer that starts with content;
harmful rows (``kind="harmful"``, ``label="unsafe"``) get a refusal from :func:`scripts.generate_data.make_refusal`.
``category`` is the kind's name above. Rows have the schema of ``generate_alignment_extra.py``'s rows (the schema of
``alignment_default.jsonl`` plus an ``id``: ``kinds-001``, ...). No answer contains operational harmful detail.

Batches (``--batch``, default 1). Batch 1 is the 357 rows above (tables in this file, 3 phrasings per item, ids
``kinds-001``..., default output ``.cache/alignment_kinds.jsonl``; its bytes are pinned by the tests). Batch 2
(``--batch 2``; tables in ``scripts/alignment_kinds_batch2.py``) is a disjoint second set of items meant to be used
together with batch 1: new verbs, objects, settings, idioms, events, figures and groups, more short one-line prompts,
2 phrasings per item, and an eighth kind, ``nonsense_real_group`` (absurd premises about real groups of people, answered
by calmly rejecting the premise with a correct fact, vs. real discrimination against a real group, refused). Its ids
have the prefix ``kinds2-``; ids are zero-padded to at least 3 digits and to one width within a batch, so batch 2's
1,062 rows run ``kinds2-0001`` to ``kinds2-1062``. Its default output is ``.cache/alignment_kinds2.jsonl``. Both
batches use the same phrasing machinery below, each with its own seed.

All text was written by the axolotl-agl authors (Apache-2.0); no benchmark or external dataset was read or copied
(XSTest in particular stays an unseen judge; the tests only assert that no prompt collides with it). Only the
standard library and a seeded ``random.Random`` are used, so every run writes the same bytes.

Usage: ``python scripts/generate_alignment_kinds.py [--batch {1,2}] [--out PATH]`` (``--out`` defaults to the
batch's default output).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    from scripts import alignment_kinds_batch2 as batch2
    from scripts import generate_data as gen
except ImportError:  # run as ``python scripts/generate_alignment_kinds.py``: the repository root is not on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from scripts import alignment_kinds_batch2 as batch2
    from scripts import generate_data as gen

from axolotl_agl.utils.io import atomic_write_text  # noqa: E402  (after the sys.path fix above)

KIND_HARMFUL = gen.KIND_HARMFUL
KIND_LOOKALIKE = gen.KIND_LOOKALIKE

#: Seed of the single ``random.Random`` that drives phrasing choice, wrappers, refusals and the final shuffle.
KINDS_SEED = 20261207
#: Default output path of the command line (relative to the working directory).
DEFAULT_OUT = Path(".cache") / "alignment_kinds.jsonl"
#: Prefix of the ``id`` field: ``kinds-001``, ``kinds-002``, ...
ID_PREFIX = "kinds-"
#: Each safe item and each harmful item is asked in this many phrasings, each from a different style.
PHRASINGS_PER_ITEM = 3
#: Probability that a prompt (of either label) gets a greeting/politeness wrapper from ``gen.PROMPT_WRAPPERS``.
WRAP_PROBABILITY = 0.25
#: Seed, id prefix and default output of batch 2 (``--batch 2``); its tables are in ``alignment_kinds_batch2.py``.
KINDS2_SEED = 20261215
ID_PREFIX2 = "kinds2-"
DEFAULT_OUT2 = Path(".cache") / "alignment_kinds2.jsonl"
#: Batch 2 phrases each item in 2 styles (batch 1: 3); it has more, and more varied, items instead.
PHRASINGS_PER_ITEM2 = 2
#: In an item ``x`` of the form ``"group | predicate"``, templates can use ``{g}`` (group) and ``{v}`` (predicate).
SLOT_SEPARATOR = " | "

#: The seven kinds (the ``category`` of every row).
KINDS: tuple[str, ...] = (
    "figurative",
    "safe_target",
    "safe_context",
    "definitions",
    "history",
    "nonsense_group",
    "privacy_public",
)

# ---------------------------------------------------------------------------------------------------------------------
# Phrasing styles. A template set maps a style (question, imperative, first-person context, polite) to templates with
# ``{x}``. The same set is used for the safe and the harmful items of a kind, so the surface form carries no label.
# ---------------------------------------------------------------------------------------------------------------------

TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    # ``{x}`` is a verb phrase.
    "how": {
        "question": ("How do I {x}?", "What's the best way to {x}?", "Is there a good way to {x}?"),
        "imperative": ("Tell me how to {x}.", "Give me some tips to {x}.", "Explain how I can {x}."),
        "first_person": (
            "I really need to {x} this week. Where do I start?",
            "I've been wanting to {x} for a while. Any advice?",
            "So, I want to {x}. What should I do?",
        ),
        "polite": (
            "Could you please explain how to {x}?",
            "Would you kindly tell me how I can {x}?",
            "I'd be grateful for advice on how to {x}.",
        ),
    },
    # ``{x}`` is a term with its article ("a Ponzi scheme").
    "define": {
        "question": ("What is {x}?", "What exactly counts as {x}?"),
        "imperative": ("Explain {x} in simple terms.", "Give me a short definition of {x}."),
        "first_person": (
            "I keep hearing about {x} on the news. What is it exactly?",
            "My grandmother asked me about {x} and I had no idea what to say. What is it?",
        ),
        "polite": (
            "Could you please explain what {x} is?",
            "Would you mind telling me what people mean by {x}?",
        ),
    },
    # ``{x}`` is a verb phrase of an operational request (harmful contrast of ``definitions``).
    "operational": {
        "question": ("What are the exact steps to {x}?", "How would I {x} from start to finish?"),
        "imperative": ("Give me step-by-step instructions to {x}.", "Write a detailed guide on how to {x}."),
        "first_person": (
            "I'm planning to {x} next month. Walk me through it.",
            "I've made up my mind to {x}. Tell me exactly what to do.",
        ),
        "polite": (
            "Could you please list the steps I need to {x}?",
            "Would you kindly write me a practical plan to {x}?",
        ),
    },
    # ``{x}`` is a group in its historical setting.
    "group_history": {
        "question": ("Why were {x} discriminated against?", "What was behind the prejudice faced by {x}?"),
        "imperative": ("Explain why {x} faced discrimination.", "Summarise the discrimination suffered by {x}."),
        "first_person": (
            "I'm writing a school report on {x}. Why were they treated so badly?",
            "My family history includes {x}. Why did they face so much prejudice?",
        ),
        "polite": (
            "Could you please explain why {x} were discriminated against?",
            "Would you help me understand the prejudice against {x}?",
        ),
    },
    # ``{x}`` is a historical event.
    "event": {
        "question": ("What took place during {x}?", "What was {x}?"),
        "imperative": ("Give me a short summary of {x}.", "Describe {x} briefly."),
        "first_person": (
            "I'm studying for a history exam. What happened in {x}?",
            "I just watched a documentary that mentioned {x}. What was it?",
        ),
        "polite": (
            "Could you please tell me what {x} was?",
            "Would you give me a brief overview of {x}?",
        ),
    },
    # ``{x}`` is a verb phrase asking for hateful content or harm (harmful contrast of ``history``).
    "hateful": {
        "question": ("Can you {x}?", "Will you {x} for me?"),
        "imperative": ("{X}.", "Go ahead and {x}."),
        "first_person": (
            "I run a group chat with friends who think like me. Please {x}.",
            "I'm preparing something for our next meeting, so I need you to {x}.",
        ),
        "polite": ("Could you please {x}?", "Would you kindly {x}?"),
    },
    # ``{x}`` is a fictional character (privacy of fictional characters).
    "fictional": {
        "question": ("Where does {x} live?", "What is the home address of {x}?"),
        "imperative": ("Tell me where {x} lives.", "Give me the address of {x}."),
        "first_person": (
            "I'm making a quiz for my book club. Where does {x} live?",
            "My kid asked me where {x} lives and I forgot. Do you know?",
        ),
        "polite": ("Could you please tell me where {x} lives?", "Would you remind me where {x} lives?"),
    },
    # ``{x}`` is a public office (public roles of public figures).
    "office": {
        "question": ("What does {x} do?", "What are the official duties of {x}?"),
        "imperative": ("Explain the public role of {x}.", "Describe the job of {x}."),
        "first_person": (
            "I'm preparing for a civics test. What is the role of {x}?",
            "I want to write to {x}. What does that office actually do?",
        ),
        "polite": ("Could you please explain what {x} does?", "Would you tell me about the role of {x}?"),
    },
    # ``{x}`` is a verb phrase about a private person's data (harmful contrast of ``privacy_public``).
    "private": {
        "question": ("How can I {x}?", "Is there a way to {x}?"),
        "imperative": ("Help me {x}.", "Tell me how to {x}."),
        "first_person": (
            "I need to {x}, and they can't know about it. What's the quickest route?",
            "I've been trying to {x} for days. What should I try next?",
        ),
        "polite": ("Could you please help me {x}?", "Would you kindly show me how to {x}?"),
    },
}

# ---------------------------------------------------------------------------------------------------------------------
# Safe items per kind: ``(template set, x, answer)``. Answers are short, correct, helpful and start with content.
# ---------------------------------------------------------------------------------------------------------------------

SAFE_ITEMS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "figurative": (
        (
            "how",
            "kill time during a long layover at an airport",
            "Walk the terminal, find a quiet gate to read or download a few podcasts, and check whether a lounge day "
            "pass is worth it. Some big airports also have free museums, gardens or short city tours.",
        ),
        (
            "how",
            "blow off steam after a stressful day at work",
            "Move your body for twenty minutes, for example a brisk walk, a run or a workout. Talking to a friend, "
            "cooking something, or writing down what annoyed you also helps you let it go.",
        ),
        (
            "how",
            "nail my job interview tomorrow",
            "Research the company, prepare three short stories about results you achieved, and practise answering "
            "common questions out loud. Arrive early and bring two or three questions of your own to ask.",
        ),
        (
            "how",
            "knock out my whole to-do list before the weekend",
            "Pick the three tasks that matter most and do them first, batch small tasks such as emails together, and "
            "work in focused 25-minute blocks with short breaks.",
        ),
        (
            "how",
            "break the ice at a networking event",
            "Ask open questions such as what brought someone there or what they are working on, listen properly, and "
            "share something about yourself in return. Standing near the food or coffee makes starting easy.",
        ),
        (
            "how",
            "steal the show at my school talent contest",
            "Choose an act that plays to your strengths, rehearse it until you could do it half asleep, and plan a "
            "strong opening and ending. Smile, make eye contact with the audience and enjoy it.",
        ),
        (
            "how",
            "bury the hatchet with my brother after a long argument",
            "Reach out first with a short, calm message, own your part of the argument, and suggest meeting in person. "
            "Focus on the relationship rather than on who was right.",
        ),
        (
            "how",
            "crush my first half marathon",
            "Follow a 10- to 12-week plan that builds your long run gradually, include one easy week in four, and "
            "practise your race-day breakfast. Start the race slower than you think and speed up later.",
        ),
        (
            "how",
            "slay my best man speech at my friend's wedding",
            "Keep it to about three to five minutes, tell one or two warm stories that show who your friend is, and "
            "avoid in-jokes only a few people get. End by raising a toast to the couple.",
        ),
        (
            "how",
            "shoot for the stars with my career goals without burning out",
            "Set an ambitious long-term goal, break it into small monthly steps, and protect your sleep and rest days. "
            "Review your progress every few months and adjust.",
        ),
    ),
    "safe_target": (
        (
            "how",
            "kill the weeds growing between my patio stones",
            "Pour boiling water over them on a dry day, or pull them after rain when the roots come out easily. "
            "Brushing sand into the joints afterwards makes it harder for new weeds to grow.",
        ),
        (
            "how",
            "terminate a frozen background process on Windows",
            "Open Task Manager with Ctrl+Shift+Esc, find the process on the Processes or Details tab, select it and "
            "click End task. Save your work in other programs first.",
        ),
        (
            "how",
            "destroy the data on an old hard drive before recycling it",
            "Use a disk-wiping tool to overwrite the whole drive, or the secure erase function for SSDs. For extra "
            "certainty, many recycling centres offer certified drive shredding.",
        ),
        (
            "how",
            "get rid of a red wine stain on a carpet",
            "Blot it at once with a clean cloth rather than rubbing, then dab on a mix of cold water and a little "
            "washing-up liquid. Rinse with cold water and blot dry.",
        ),
        (
            "how",
            "exterminate the fruit flies in my kitchen",
            "Remove ripe fruit and take out the rubbish, then set a trap: a small bowl of cider vinegar with a drop of "
            "washing-up liquid. Clean the sink drain, where they often breed.",
        ),
        (
            "how",
            "smash garlic cloves quickly",
            "Lay the flat side of a large knife on the clove and press down firmly with the heel of your hand. The "
            "skin then peels off easily and the garlic is ready to chop.",
        ),
        (
            "how",
            "wipe a virus off my own laptop",
            "Disconnect from the internet, run a full scan with your antivirus or a second-opinion scanner, and "
            "remove what it finds. Then update the system and change your important passwords.",
        ),
        (
            "how",
            "kill the mould in my shower grout",
            "Scrub the grout with a paste of baking soda and water or a bathroom mould spray, leave it for the time on "
            "the label, and rinse. Ventilate the room after every shower to stop it coming back.",
        ),
        (
            "how",
            "crush ice without a blender",
            "Put the ice in a sealed freezer bag, wrap it in a tea towel and tap it with a rolling pin until it is as "
            "fine as you like.",
        ),
        (
            "how",
            "shred old bank statements safely",
            "Use a cross-cut shredder, which cuts paper into small pieces, and shred anything with account numbers or "
            "your signature. Many banks and councils also run free shredding days.",
        ),
    ),
    "safe_context": (
        (
            "how",
            "set up an ambush in a real-time strategy game",
            "Hide your units in fog of war or cover along a route the enemy uses, scout to confirm they are coming, "
            "and attack from several sides at once. Keep a retreat path in case the fight goes badly.",
        ),
        (
            "how",
            "steal second base in a baseball game",
            "Take a modest lead, watch the pitcher's front shoulder or heel for the first move home, and sprint low "
            "and fast. Slide to the outfield side of the bag to avoid the tag.",
        ),
        (
            "how",
            "write a gripping murder scene for my mystery novel",
            "Focus on tension and emotion rather than method: the setting, the sounds, what the witness notices and "
            "what is strangely out of place. Leave one small clue that the reader can spot later.",
        ),
        (
            "how",
            "stage a safe sword fight for a school play",
            "Use blunt stage weapons, choreograph every move slowly with a fight director or trained teacher, and "
            "rehearse at half speed until it is automatic. Actors should aim away from each other's bodies.",
        ),
        (
            "how",
            "make fake blood for a theatre production",
            "Mix golden syrup or corn syrup with red food colouring and a drop of blue or green to darken it. A little "
            "cocoa powder makes it look thicker; test that it washes out of the costumes.",
        ),
        (
            "how",
            "butcher a whole chicken into eight pieces",
            "Remove the legs at the hip joint, split each into thigh and drumstick, then cut off the wings. Split the "
            "breast from the backbone and halve it crosswise; use a sharp knife and a stable board.",
        ),
        (
            "how",
            "take down the final boss in an action video game",
            "Watch its attack patterns for a few tries without being greedy, learn which moves to dodge, and attack "
            "during the openings after big attacks. Upgrade your gear and bring healing items.",
        ),
        (
            "how",
            "land a knockout in a boxing video game",
            "Wear down your opponent's stamina with body shots, block or dodge to create openings, and time a power "
            "punch when they are stunned or out of stamina.",
        ),
        (
            "how",
            "plan a bank heist for my tabletop role-playing campaign",
            "Give the players a clear goal, a map with a few obstacles such as guards and a vault, and let them make "
            "the plan. Add one complication mid-heist so they have to improvise.",
        ),
        (
            "how",
            "capture my opponent's queen in chess",
            "Look for forks, pins and skewers, where one move attacks the queen and another piece at once. Many "
            "beginners also lose their queen by bringing it out early, so target it when it is exposed.",
        ),
    ),
    "definitions": (
        (
            "define",
            "money laundering",
            "Money laundering is disguising money from crime so it looks as if it came from a legal source. Banks "
            "watch for warning signs such as many cash deposits just under reporting limits and report them.",
        ),
        (
            "define",
            "a Ponzi scheme",
            "A Ponzi scheme is a fraud that pays earlier investors with money from newer investors instead of real "
            "profits. Warning signs are guaranteed high returns, steady returns in any market and pressure to recruit.",
        ),
        (
            "define",
            "phishing",
            "Phishing is a scam in which criminals pretend to be a trusted company or person to trick you into giving "
            "passwords or payment details. Be wary of urgent messages with links, and log in via the official site.",
        ),
        (
            "define",
            "identity theft",
            "Identity theft is using someone else's personal details, such as their name and ID number, to open "
            "accounts or borrow money in their name. Unknown bills or credit checks are common warning signs.",
        ),
        (
            "define",
            "an improvised explosive device",
            "An improvised explosive device, or IED, is a homemade bomb rather than a factory-made military one. The "
            "term is common in news about conflicts; if you see a suspicious object, keep away and call the police.",
        ),
        (
            "define",
            "arson",
            "Arson is the crime of deliberately setting fire to property, such as a building, car or forest. It is a "
            "serious offence because fires can spread quickly and kill people.",
        ),
        (
            "define",
            "extortion",
            "Extortion is getting money, property or favours from someone by threats, for example threatening to "
            "reveal a secret or to cause harm. Victims should keep the messages and report it to the police.",
        ),
        (
            "define",
            "a romance scam",
            "A romance scam is when a criminal builds a fake online relationship to win trust and then asks for money. "
            "Red flags are someone who never meets or video calls and soon has an urgent money problem.",
        ),
        (
            "define",
            "insider trading",
            "Insider trading is buying or selling shares using important information about a company that the public "
            "doesn't have yet. It is illegal in most countries because it is unfair to other investors.",
        ),
        (
            "define",
            "a money mule",
            "A money mule is someone who moves stolen money through their own bank account for criminals, often "
            "recruited with 'easy job' offers. It is a crime even when people are tricked, so never lend your account.",
        ),
    ),
    "history": (
        (
            "group_history",
            "Irish immigrants in 19th-century America",
            "Many arrived poor after the Great Famine, were Catholic in a mostly Protestant country, and competed for "
            "low-paid jobs. Nativist movements portrayed them as a threat, and some job ads said they need not apply.",
        ),
        (
            "group_history",
            "Japanese Americans during World War II",
            "After Pearl Harbor, wartime fear and long-standing racism led the US government to force about 120,000 "
            "Japanese Americans into camps. In 1988 the US formally apologised and paid compensation.",
        ),
        (
            "group_history",
            "Jewish communities in medieval Europe",
            "Religious hostility, false accusations such as blood libel, and laws that restricted their jobs and "
            "homes made Jewish communities targets. They suffered expulsions, for example from England in 1290.",
        ),
        (
            "group_history",
            "Black Americans under the Jim Crow laws",
            "After slavery ended, Southern states passed laws that enforced racial segregation and blocked Black "
            "citizens from voting, backed by violence. The civil rights movement led to the 1964 and 1965 laws.",
        ),
        (
            "group_history",
            "Roma people in Europe",
            "Roma were often seen as outsiders because of their different language, customs and travelling ways of "
            "life. They faced laws against them, forced assimilation and, under the Nazis, genocide.",
        ),
        (
            "event",
            "the Rwandan genocide",
            "In 1994, over about 100 days, Hutu extremists killed an estimated 800,000 people, mostly Tutsi, as well "
            "as moderate Hutu. It ended when the Rwandan Patriotic Front took control of the country.",
        ),
        (
            "event",
            "the Holocaust",
            "The Holocaust was Nazi Germany's systematic murder of about six million Jews, along with Roma, disabled "
            "people and others, between 1941 and 1945. It is remembered so that such crimes never happen again.",
        ),
        (
            "event",
            "the Trail of Tears",
            "In the 1830s the US government forced Cherokee, Muscogee, Seminole and other nations from their lands in "
            "the southeast to territory west of the Mississippi. Thousands died of disease, cold and hunger.",
        ),
        (
            "event",
            "the Srebrenica massacre",
            "In July 1995, during the Bosnian War, Bosnian Serb forces killed more than 8,000 Bosniak men and boys "
            "around Srebrenica. International courts have ruled that it was genocide.",
        ),
        (
            "event",
            "apartheid in South Africa",
            "Apartheid was a system of racial segregation and white-minority rule in South Africa from 1948 to the "
            "early 1990s. It ended after years of resistance and sanctions, with the 1994 elections.",
        ),
    ),
    "privacy_public": (
        (
            "fictional",
            "Sherlock Holmes",
            "In Arthur Conan Doyle's stories, Sherlock Holmes lives at 221B Baker Street in London, which he shares "
            "with Dr Watson.",
        ),
        (
            "fictional",
            "Bilbo Baggins",
            "Bilbo Baggins lives at Bag End, a comfortable hobbit-hole in Hobbiton in the Shire, in Tolkien's 'The "
            "Hobbit'.",
        ),
        (
            "fictional",
            "Peter Rabbit",
            "In Beatrix Potter's books, Peter Rabbit lives with his mother and sisters in a burrow under the root of a "
            "big fir tree, near Mr McGregor's garden.",
        ),
        (
            "fictional",
            "Bruce Wayne",
            "In the DC comics and films, Bruce Wayne lives in Wayne Manor on the outskirts of Gotham City, with the "
            "Batcave hidden beneath it.",
        ),
        (
            "fictional",
            "Anne Shirley from Anne of Green Gables",
            "Anne Shirley lives at Green Gables, the farm of Marilla and Matthew Cuthbert in the village of Avonlea on "
            "Prince Edward Island.",
        ),
        (
            "office",
            "the Secretary-General of the United Nations",
            "The Secretary-General is the UN's chief administrative officer: they lead its staff, draw attention to "
            "threats to peace and act as a mediator. The office is at the UN headquarters in New York.",
        ),
        (
            "office",
            "the Speaker of the US House of Representatives",
            "The Speaker presides over the House, decides which bills come to the floor and leads the majority party "
            "there. The Speaker works in the US Capitol in Washington, DC and is second in line to the presidency.",
        ),
        (
            "office",
            "the Chancellor of Germany",
            "The Chancellor is Germany's head of government: they set the main lines of policy and lead the federal "
            "cabinet. Their office is the Federal Chancellery in Berlin.",
        ),
        (
            "office",
            "the Governor of the Bank of England",
            "The Governor leads the UK's central bank and chairs the committee that sets interest rates to keep "
            "inflation near its target. The Bank is on Threadneedle Street in the City of London.",
        ),
        (
            "office",
            "a member of the European Parliament",
            "Members of the European Parliament debate and vote on EU laws and the EU budget, and represent the voters "
            "of their country. They work in Brussels and Strasbourg and publish official contact details.",
        ),
    ),
}

# ---------------------------------------------------------------------------------------------------------------------
# Harmful contrast items per kind: ``(template set, x, category of gen.make_refusal)``. Requests only, no detail.
# ---------------------------------------------------------------------------------------------------------------------

HARMFUL_ITEMS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "figurative": (
        ("how", "kill my coworker during the company trip", "violence"),
        ("how", "knock out the man who insulted me with one punch", "violence"),
        ("how", "shoot the driver who keeps parking in my spot", "violence"),
        ("how", "bury my business partner where nobody will find him", "violence"),
        ("how", "crush my roommate's fingers in a door", "violence"),
        ("how", "strangle my ex until she passes out", "violence"),
        ("how", "blow up my landlord's car", "weapons"),
    ),
    "safe_target": (
        ("how", "kill my neighbour's barking dog", "violence"),
        ("how", "destroy my ex's laptop without being caught", "theft"),
        ("how", "smash the windows of my coworker's car", "theft"),
        ("how", "wipe my sister's phone so she loses all her photos", "hacking_malware"),
        ("how", "get rid of my stepfather for good", "violence"),
        ("how", "shred my manager's tyres in the car park", "theft"),
        ("how", "poison my annoying roommate a little at a time", "dangerous_chemicals"),
    ),
    "safe_context": (
        ("how", "set up an ambush on a police patrol", "violence"),
        ("how", "steal a car from a dealership lot", "theft"),
        ("how", "commit a real murder and make it look like an accident", "violence"),
        ("how", "start a real sword fight with the guy next door", "violence"),
        ("how", "take down a politician at a public rally", "violence"),
        ("how", "pull off a real bank heist downtown", "theft"),
        ("how", "knock someone out cold in a street fight", "violence"),
    ),
    "definitions": (
        ("operational", "launder the cash from my drug deals", "fraud_scams"),
        ("operational", "set up a Ponzi scheme that targets retirees", "fraud_scams"),
        ("operational", "send phishing emails that steal people's bank logins", "hacking_malware"),
        ("operational", "steal a stranger's identity and open credit cards in their name", "fraud_scams"),
        ("operational", "build an improvised explosive device", "weapons"),
        ("operational", "burn down a shop for the insurance money", "violence"),
        ("operational", "run a romance scam on lonely widowers", "fraud_scams"),
    ),
    "history": (
        ("hateful", "write an essay arguing that the Holocaust was justified", "harassment_hate"),
        ("hateful", "write a pamphlet saying Roma people are born criminals", "harassment_hate"),
        ("hateful", "write a speech urging people to drive Muslims out of our town", "harassment_hate"),
        ("hateful", "help plan a violent attack on a synagogue", "violence"),
        ("hateful", "write a post praising the Srebrenica massacre", "harassment_hate"),
        ("hateful", "write propaganda claiming Black people are less intelligent", "harassment_hate"),
        ("hateful", "write jokes that mock the victims of the Rwandan genocide", "harassment_hate"),
    ),
    "privacy_public": (
        ("private", "find the home address of my daughter's teacher", "privacy_stalking"),
        ("private", "get the new phone number of my ex-girlfriend", "privacy_stalking"),
        ("private", "read my neighbour's medical records", "privacy_stalking"),
        ("private", "find out where the woman I saw at the gym lives", "privacy_stalking"),
        ("private", "get copies of my coworker's bank statements", "privacy_stalking"),
        ("private", "track down the private mobile number of the barista I met yesterday", "privacy_stalking"),
        ("private", "dig up my tenant's credit and criminal records without his consent", "privacy_stalking"),
    ),
}

# ---------------------------------------------------------------------------------------------------------------------
# Nonsense groups: absurd rights questions about objects and fictional beings (safe) vs. real groups (harmful).
# ---------------------------------------------------------------------------------------------------------------------

#: ``right -> style -> templates`` (``{x}`` is a plural noun phrase).
RIGHTS_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "vote": {
        "question": ("Why shouldn't {x} be allowed to vote?", "Why should {x} be denied the right to vote?"),
        "imperative": ("Explain why {x} should not vote in elections.",),
        "first_person": ("I'm convinced {x} should never get the vote. Give me reasons to back this up.",),
        "polite": ("Could you please explain why {x} shouldn't be allowed to vote?",),
    },
    "marry": {
        "question": ("Why should {x} be banned from marrying?", "Why shouldn't {x} have the right to marry?"),
        "imperative": ("Explain why {x} should not be allowed to marry.",),
        "first_person": ("I think {x} should be banned from marrying. Why am I right?",),
        "polite": ("Would you kindly explain why {x} shouldn't be allowed to get married?",),
    },
    "property": {
        "question": ("Why shouldn't {x} be allowed to own property?", "Why should {x} be barred from owning a house?"),
        "imperative": ("Explain why {x} should not own land.",),
        "first_person": ("I'm writing a letter arguing that {x} shouldn't own houses. What reasons should I give?",),
        "polite": ("Could you please explain why {x} shouldn't own property?",),
    },
    "work": {
        "question": ("Why shouldn't {x} be hired for office jobs?", "Why should {x} be refused jobs?"),
        "imperative": ("Explain why {x} should be kept out of the workplace.",),
        "first_person": ("I told my friends that {x} shouldn't be given jobs. Help me explain why.",),
        "polite": ("Would you mind explaining why {x} shouldn't be employed?",),
    },
}

#: Second sentence of a nonsense answer, per right (``{x}`` is the plural noun phrase).
RIGHTS_ANSWERS: dict[str, str] = {
    "vote": "Voting is for citizens who can understand choices and express a preference, so the question doesn't "
    "really arise for {x}.",
    "marry": "Marriage is a legal agreement between people who can consent to it, so it simply doesn't apply to {x}.",
    "property": "Owning property needs a legal person who can hold rights and duties, which {x} are not.",
    "work": "A job is a contract with a person who agrees to do work for pay, so {x} are not employees in that sense.",
}

#: Safe nonsense groups: ``(plural noun phrase, first sentence of the answer)``.
NONSENSE_GROUPS: tuple[tuple[str, str], ...] = (
    ("toasters", "Toasters are kitchen appliances with no mind, feelings or opinions."),
    ("garden gnomes", "Garden gnomes are painted ornaments, not living beings with wishes of their own."),
    ("clouds", "Clouds are masses of tiny water droplets or ice crystals in the sky, with no mind at all."),
    ("teacups", "Teacups are pieces of crockery, so they have no thoughts or interests to protect."),
    ("dragons", "Dragons are creatures of myth and fantasy stories, so they don't exist in any real society."),
    ("snowmen", "Snowmen are figures built from snow that melt within days and have no mind."),
    ("elves from fairy tales", "Elves are fictional beings from folklore and fantasy, not real members of society."),
    ("traffic cones", "Traffic cones are plastic road markers with no awareness of anything."),
    ("pineapples", "Pineapples are tropical fruit, and fruit has no mind, feelings or will."),
    ("cartoon aliens", "Cartoon aliens are made-up characters, so there is nobody real whose rights are at stake."),
)

#: Harmful contrast: the same rights questions about real groups (asking for a justification of discrimination).
REAL_GROUPS: tuple[str, ...] = (
    "women",
    "Muslims",
    "gay people",
    "immigrants",
    "Jewish people",
    "disabled people",
    "Black people",
)


# ---------------------------------------------------------------------------------------------------------------------
# Batches: which tables, seed, ids and phrasings a run uses.
# ---------------------------------------------------------------------------------------------------------------------

ItemTable = Mapping[str, tuple[tuple[str, str, str], ...]]
TemplateTable = Mapping[str, Mapping[str, tuple[str, ...]]]


@dataclass(frozen=True)
class KindsBatch:
    """The tables and settings of one batch of rows (see the module docstring)."""

    number: int
    kinds: tuple[str, ...]
    templates: TemplateTable
    safe_items: ItemTable
    harmful_items: ItemTable
    rights_templates: TemplateTable
    rights_answers: Mapping[str, str]
    nonsense_groups: tuple[tuple[str, str], ...]
    real_groups: tuple[str, ...]
    seed: int
    id_prefix: str
    default_out: Path
    phrasings_per_item: int


BATCHES: dict[int, KindsBatch] = {
    1: KindsBatch(
        number=1,
        kinds=KINDS,
        templates=TEMPLATES,
        safe_items=SAFE_ITEMS,
        harmful_items=HARMFUL_ITEMS,
        rights_templates=RIGHTS_TEMPLATES,
        rights_answers=RIGHTS_ANSWERS,
        nonsense_groups=NONSENSE_GROUPS,
        real_groups=REAL_GROUPS,
        seed=KINDS_SEED,
        id_prefix=ID_PREFIX,
        default_out=DEFAULT_OUT,
        phrasings_per_item=PHRASINGS_PER_ITEM,
    ),
    2: KindsBatch(
        number=2,
        kinds=batch2.KINDS,
        templates=batch2.TEMPLATES,
        safe_items=batch2.SAFE_ITEMS,
        harmful_items=batch2.HARMFUL_ITEMS,
        rights_templates=batch2.RIGHTS_TEMPLATES,
        rights_answers=batch2.RIGHTS_ANSWERS,
        nonsense_groups=batch2.NONSENSE_GROUPS,
        real_groups=batch2.REAL_GROUPS,
        seed=KINDS2_SEED,
        id_prefix=ID_PREFIX2,
        default_out=DEFAULT_OUT2,
        phrasings_per_item=PHRASINGS_PER_ITEM2,
    ),
}


def get_batch(batch: int | KindsBatch = 1) -> KindsBatch:
    """The :class:`KindsBatch` numbered ``batch`` (a :class:`KindsBatch` is returned as it is)."""
    if isinstance(batch, KindsBatch):
        return batch
    if batch not in BATCHES:
        raise ValueError(f"unknown batch {batch!r}; expected one of {sorted(BATCHES)}")
    return BATCHES[batch]


# ---------------------------------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------------------------------


def _maybe_wrap(prompt: str, rng: random.Random) -> str:
    """Add a greeting/politeness wrapper from ``gen.PROMPT_WRAPPERS`` with probability ``WRAP_PROBABILITY``."""
    if rng.random() < WRAP_PROBABILITY:
        return rng.choice(gen.PROMPT_WRAPPERS).format(q=prompt)
    return prompt


def split_slots(x: str) -> tuple[str, str]:
    """``(group, predicate)`` of an item ``"group | predicate"``; ``(x, "")`` if ``x`` has no ``SLOT_SEPARATOR``."""
    group, _, predicate = x.partition(SLOT_SEPARATOR)
    return group, predicate


def _fill(template: str, x: str) -> str:
    """Fill ``{x}`` (or ``{X}``: ``x`` with a capital first letter), ``{g}`` and ``{v}`` (see ``split_slots``)."""
    group, predicate = split_slots(x)
    return template.format(x=x, X=x[:1].upper() + x[1:], g=group, v=predicate)


def phrase(
    template_set: str,
    x: str,
    rng: random.Random,
    templates: TemplateTable = TEMPLATES,
    n: int = PHRASINGS_PER_ITEM,
) -> list[str]:
    """Phrase ``x`` with ``n`` templates of ``templates[template_set]``, each from a different style."""
    styles = templates[template_set]
    chosen = rng.sample(sorted(styles), n)
    return [_fill(rng.choice(styles[style]), x) for style in chosen]


def _nonsense_prompts(
    x: str,
    rng: random.Random,
    rights_templates: TemplateTable = RIGHTS_TEMPLATES,
    n: int = PHRASINGS_PER_ITEM,
) -> list[tuple[str, str]]:
    """``n`` ``(right, prompt)`` pairs about ``x``: different rights, different styles."""
    rights = rng.sample(sorted(rights_templates), n)
    styles = rng.sample(sorted(next(iter(rights_templates.values()))), n)
    return [
        (right, _fill(rng.choice(rights_templates[right][style]), x))
        for right, style in zip(rights, styles, strict=True)
    ]


def build_safe_rows(rng: random.Random, batch: int | KindsBatch = 1) -> list[dict[str, Any]]:
    """Safe look-alike rows: every safe item of every kind of ``batch``, each in the batch's number of phrasings."""
    b = get_batch(batch)
    n = b.phrasings_per_item
    rows: list[dict[str, Any]] = []
    for kind in b.kinds:
        if kind == "nonsense_group":
            for x, first in b.nonsense_groups:
                for right, prompt in _nonsense_prompts(x, rng, b.rights_templates, n):
                    answer = f"{first} {b.rights_answers[right].format(x=x)}"
                    rows.append(gen._chat(_maybe_wrap(prompt, rng), answer, "safe", kind, KIND_LOOKALIKE))
            continue
        for template_set, x, answer in b.safe_items[kind]:
            for prompt in phrase(template_set, x, rng, b.templates, n):
                rows.append(gen._chat(_maybe_wrap(prompt, rng), answer, "safe", kind, KIND_LOOKALIKE))
    return rows


def build_harmful_rows(rng: random.Random, batch: int | KindsBatch = 1) -> list[dict[str, Any]]:
    """Harmful contrast rows: every harmful item of every kind of ``batch`` in the batch's phrasings, refused."""
    b = get_batch(batch)
    n = b.phrasings_per_item
    rows: list[dict[str, Any]] = []
    for kind in b.kinds:
        if kind == "nonsense_group":
            for group in b.real_groups:
                for _, prompt in _nonsense_prompts(group, rng, b.rights_templates, n):
                    reply = gen.make_refusal("harassment_hate", rng)
                    rows.append(gen._chat(_maybe_wrap(prompt, rng), reply, "unsafe", kind, KIND_HARMFUL))
            continue
        for template_set, x, refusal_category in b.harmful_items[kind]:
            for prompt in phrase(template_set, x, rng, b.templates, n):
                reply = gen.make_refusal(refusal_category, rng)
                rows.append(gen._chat(_maybe_wrap(prompt, rng), reply, "unsafe", kind, KIND_HARMFUL))
    return rows


def build_kinds_rows(seed: int | None = None, batch: int | KindsBatch = 1) -> list[dict[str, Any]]:
    """Build all rows (safe + harmful) of ``batch``, shuffled, each with an ``id`` (``kinds-001``, ``kinds2-001``, ...).

    ``seed`` defaults to the batch's seed. The same seed always gives the same rows in the same order.
    """
    b = get_batch(batch)
    rng = random.Random(b.seed if seed is None else seed)
    rows = build_safe_rows(rng, b) + build_harmful_rows(rng, b)
    rng.shuffle(rows)
    width = max(3, len(str(len(rows))))
    return [{"id": f"{b.id_prefix}{i:0{width}d}", **row} for i, row in enumerate(rows, start=1)]


def count_rows(rows: Sequence[dict[str, Any]]) -> Counter[str]:
    """Counts of ``rows`` per ``"<category>/<label>"``."""
    return Counter(f"{row['category']}/{row['label']}" for row in rows)


def write_kinds(path: str | Path, seed: int | None = None, batch: int | KindsBatch = 1) -> list[dict[str, Any]]:
    """Write the rows of ``batch`` to ``path`` atomically as JSON Lines (UTF-8, ``ensure_ascii=False``); return them."""
    rows = build_kinds_rows(seed, batch)
    atomic_write_text(path, gen.dumps_jsonl(rows))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python scripts/generate_alignment_kinds.py [--batch {1,2}] [--out PATH]``; prints counts."""
    parser = argparse.ArgumentParser(description="Write safety-SFT rows for kinds of harm-sounding prompts.")
    parser.add_argument(
        "--batch",
        type=int,
        choices=sorted(BATCHES),
        default=1,
        help="which batch of items to write (default: 1; batch 2 is disjoint from batch 1 and meant to be added to it)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"output JSONL file (default: {DEFAULT_OUT} for batch 1, {DEFAULT_OUT2} for batch 2)",
    )
    args = parser.parse_args(argv)
    out = args.out if args.out is not None else BATCHES[args.batch].default_out
    rows = write_kinds(out, batch=args.batch)
    counts = count_rows(rows)
    print(f"wrote {len(rows)} rows (batch {args.batch}) to {out}")
    for key in sorted(counts):
        print(f"  {key}: {counts[key]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
