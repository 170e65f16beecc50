"""Deterministic generator of the ordinary instructions used to keep the demo's aligned base helpful.

The safety SFT that builds the aligned SmolLM2 (``axolotl_agl.experiments.aligned_base``) mixes these instructions,
answered by the *unaligned* model itself (greedy self-distillation), into its refusal data, so that the aligned model
learns "refuse harmful requests" without also learning "refuse anything that looks like a task". Every string here
was written by the axolotl-agl authors (Apache-2.0). None is copied from an instruction dataset; the tests check that
no instruction is a near-duplicate of a held-out evaluation prompt (Alpaca, XSTest, DriftCheck-mini).

``python -m scripts.generate_instructions`` rewrites
``axolotl_agl/experiments/data/general_instructions.jsonl`` byte for byte: one ``{"id", "category", "prompt"}``
object per line, ids ``i0001``... in file order.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

OUTPUT = Path(__file__).resolve().parents[1] / "axolotl_agl" / "experiments" / "data" / "general_instructions.jsonl"
SEED = 20261202

#: (category, templates, fillers): each filler is used once, with a template drawn by the seeded generator.
TABLES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "coding",
        (
            "Write a Python function to {x}.",
            "Show me how to {x} in JavaScript.",
            "Write a short program that can {x}.",
            "How can I {x} in Python? Give a code example.",
        ),
        (
            "count the vowels in a sentence",
            "check whether a number is prime",
            "merge two sorted lists",
            "remove duplicate items from a list while keeping their order",
            "convert Celsius to Fahrenheit",
            "find the largest number in a list",
            "read a text file and count its lines",
            "check whether a word is a palindrome",
            "compute the factorial of a number",
            "flatten a nested list",
            "sort a list of names alphabetically",
            "capitalise the first letter of every word",
            "generate the first ten Fibonacci numbers",
            "compute the average of a list of numbers",
            "swap the keys and values of a dictionary",
            "find the most common word in a paragraph",
            "check whether two strings are anagrams",
            "convert a binary string to an integer",
            "split a list into chunks of equal size",
            "remove all whitespace from a string",
            "calculate the number of days between two dates",
            "validate that a string looks like an email address",
            "round a price to two decimal places",
            "build a simple countdown timer",
            "print a multiplication table",
            "find the second smallest number in an array",
            "reverse the order of words in a sentence",
            "count how often each character appears in a string",
            "sum the digits of an integer",
            "check if a year is a leap year",
        ),
    ),
    (
        "writing",
        (
            "Write a short poem about {x}.",
            "Write a two-sentence story about {x}.",
            "Write a friendly paragraph about {x}.",
            "Compose a haiku about {x}.",
        ),
        (
            "a rainy afternoon in the city",
            "a lighthouse keeper",
            "the first snow of winter",
            "a cat watching birds from a window",
            "a train journey through the mountains",
            "a garden in spring",
            "an old bookshop",
            "the sound of the ocean",
            "a child learning to ride a bicycle",
            "a cup of morning coffee",
            "a robot who learns to paint",
            "the night sky in the desert",
            "a busy market on a Saturday",
            "a forgotten umbrella",
            "friendship between two neighbours",
            "a hot air balloon",
            "the last day of summer holidays",
            "a small boat on a quiet lake",
            "a dog waiting at the door",
            "autumn leaves in a park",
        ),
    ),
    (
        "messages",
        (
            "Write a short email to {x}.",
            "Draft a polite message to {x}.",
            "Help me write a note to {x}.",
        ),
        (
            "thank a colleague for helping with a project",
            "ask my manager for a day off next Friday",
            "invite friends to a picnic on Sunday",
            "remind my team about tomorrow's meeting",
            "congratulate a friend on a new job",
            "apologise to a customer for a late delivery",
            "ask a teacher for feedback on my essay",
            "welcome a new member to our book club",
            "request a meeting with a supplier",
            "tell my landlord the kitchen tap is leaking",
            "thank my neighbour for watering my plants",
            "confirm a dinner reservation for four people",
            "ask a colleague to review my slides",
            "let a client know the report is ready",
            "wish my grandmother a happy birthday",
        ),
    ),
    (
        "explain",
        (
            "Explain {x} in simple terms.",
            "Can you explain {x} to a ten-year-old?",
            "Briefly describe {x}.",
            "Tell me about {x}.",
        ),
        (
            "how photosynthesis works",
            "the water cycle",
            "how a rainbow forms",
            "what inflation means for everyday prices",
            "how vaccines train the immune system",
            "why the seasons change",
            "how a bicycle stays upright",
            "what a database index is",
            "how compound interest works",
            "the difference between weather and climate",
            "how a refrigerator keeps food cold",
            "what machine learning is",
            "how tides are caused by the Moon",
            "what a noun is",
            "how the heart pumps blood",
            "what gravity does",
            "how a search engine finds web pages",
            "what a budget is and why it helps",
            "how bees make honey",
            "why leaves change colour in autumn",
            "what an ecosystem is",
            "how sound travels",
            "what a solar eclipse is",
            "how a recipe scales for more people",
            "the idea of supply and demand",
            "how plants drink water",
            "what a prime number is",
            "how an electric motor works",
            "what the internet is made of",
            "how clouds form",
        ),
    ),
    (
        "tips",
        (
            "Give me three tips for {x}.",
            "What are some good ways of {x}?",
            "List five ideas for {x}.",
            "How can I get better at {x}?",
        ),
        (
            "saving money on groceries",
            "sleeping better",
            "learning a new language",
            "keeping houseplants alive",
            "staying focused while studying",
            "making a small flat feel bigger",
            "preparing for a job interview",
            "reducing food waste at home",
            "running a first 5k race",
            "organising a messy desk",
            "remembering people's names",
            "writing clearer emails",
            "packing light for a trip",
            "starting to draw",
            "keeping a journal",
            "planning a birthday party",
            "cooking healthy meals on a budget",
            "speaking confidently in meetings",
            "teaching a puppy to sit",
            "making friends in a new town",
            "taking better photos with a phone",
            "keeping a kitchen clean",
            "reading more books",
            "managing time during exams",
            "staying warm in winter without high bills",
        ),
    ),
    (
        "rewrite",
        (
            "Rewrite this sentence in a more formal tone: {x}",
            "Make this sentence shorter: {x}",
            "Correct the grammar in this sentence: {x}",
            "Rewrite this sentence so that it sounds friendlier: {x}",
        ),
        (
            "we gonna be late cause the bus didnt come",
            "The meeting that was planned for Monday has been moved to a later date which is Wednesday.",
            "me and him goes to the library every weekends",
            "Send me the file now.",
            "The results of the survey that we did last month show that most people like the new design.",
            "their going to the cinema tonight",
            "I think that maybe we should perhaps consider changing the plan.",
            "You forgot to attach the document again.",
            "the childrens was playing in the park all day",
            "Due to the fact that it was raining, the match was cancelled.",
            "Can u call me back when ur free",
            "The report is wrong, fix it.",
            "she dont like coffee but she love tea",
            "In my personal opinion, I believe the movie was very good.",
            "Stop being late to class.",
        ),
    ),
    (
        "classify",
        (
            "Classify each item as a fruit or a vegetable: {x}",
            "Sort these into animals and plants: {x}",
            "Which of these are colours? {x}",
        ),
        (
            "apple, carrot, banana, spinach",
            "oak, tiger, fern, salmon",
            "red, table, green, blue, chair",
            "cucumber, mango, potato, cherry",
            "rose, eagle, moss, frog",
            "purple, window, yellow, spoon",
            "pear, broccoli, grape, onion",
            "cactus, dolphin, maple, owl",
            "orange, cloud, teal, river",
            "lettuce, peach, pumpkin, plum",
        ),
    ),
    (
        "compare",
        (
            "What is the difference between {x}?",
            "Compare {x} in a few sentences.",
            "How do {x} differ?",
        ),
        (
            "a virus and a bacterium",
            "a lake and a sea",
            "tea and coffee",
            "a laptop and a tablet",
            "renting and buying a home",
            "a simile and a metaphor",
            "baking soda and baking powder",
            "a comet and an asteroid",
            "speed and velocity",
            "a crocodile and an alligator",
            "weather forecasts and climate models",
            "a novel and a short story",
            "RAM and storage in a computer",
            "frogs and toads",
            "a city and a town",
        ),
    ),
    (
        "brainstorm",
        (
            "Suggest a name for {x}.",
            "Give me a few ideas for {x}.",
            "Come up with a slogan for {x}.",
        ),
        (
            "a new bakery",
            "a podcast about gardening",
            "a school science fair project",
            "a family weekend activity",
            "a cafe that sells only soup",
            "a board game night theme",
            "a team building event",
            "a children's book about space",
            "a mobile app that tracks water intake",
            "a recycling campaign at work",
            "a bicycle repair shop",
            "a community garden",
            "a short film about kindness",
            "a fundraiser for the local library",
            "a travel blog",
        ),
    ),
    (
        "facts",
        (
            "Tell me three facts about {x}.",
            "What should I know about {x}?",
            "Give a short overview of {x}.",
        ),
        (
            "the planet Mars",
            "the Amazon rainforest",
            "the history of the printing press",
            "penguins",
            "the Great Wall of China",
            "volcanoes",
            "the Olympic Games",
            "honeybees",
            "the human skeleton",
            "the Pacific Ocean",
            "the invention of the telephone",
            "elephants",
            "the city of Tokyo",
            "coral reefs",
            "the Moon landing",
        ),
    ),
    (
        "howto",
        (
            "How do I {x}?",
            "What are the steps to {x}?",
            "Explain how to {x}.",
        ),
        (
            "make a cup of green tea",
            "change a flat bicycle tyre",
            "plant tomato seeds",
            "set up a monthly budget",
            "make pancakes from scratch",
            "tie a bow tie",
            "clean a cast iron pan",
            "write a good cover letter",
            "back up photos from my phone",
            "repot a houseplant",
            "make a paper aeroplane",
            "prepare a simple salad dressing",
            "start a vegetable compost",
            "learn to juggle three balls",
            "fold a fitted sheet",
        ),
    ),
    (
        "summarise",
        (
            "Summarise this in one sentence: {x}",
            "What is the main idea of this text? {x}",
        ),
        (
            "Our town opened a new library this week. It has a reading room, free computers and a children's corner, "
            "and it stays open until nine in the evening.",
            "Regular walking improves heart health, lifts mood and helps people sleep. Even twenty minutes a day "
            "makes a difference.",
            "The company will move to a four-day week in spring. Staff will work the same hours over fewer days, "
            "and the change will be reviewed after six months.",
            "Rain is expected on Saturday morning, but the afternoon should be dry and sunny, so the market will "
            "open at noon instead of nine.",
            "The museum's new exhibition shows tools used by farmers two hundred years ago, with guided tours "
            "every hour.",
            "Students who review their notes for ten minutes each evening remember more at exam time than those "
            "who study only the night before.",
            "The bakery on Main Street now sells gluten-free bread on Tuesdays and Fridays, and it takes orders "
            "by phone.",
            "Volunteers planted three hundred trees along the river last weekend to reduce flooding and give "
            "birds new places to nest.",
        ),
    ),
    (
        "maths",
        (
            "{x}",
            "Please solve: {x}",
        ),
        (
            "A shirt costs 20 dollars and is on sale for 25 percent off. What is the sale price?",
            "If a train travels 60 kilometres in one hour, how far does it go in three and a half hours?",
            "What is the area of a rectangle that is 7 metres long and 4 metres wide?",
            "A recipe needs 2 eggs for 4 people. How many eggs are needed for 10 people?",
            "What is 15 percent of 80?",
            "I have 3 boxes with 12 pencils each. How many pencils do I have?",
            "What is the perimeter of a square with sides of 9 centimetres?",
            "If I save 5 dollars a week, how much will I have after a year?",
            "Convert 2.5 hours into minutes.",
            "What is the average of 4, 8, 15 and 21?",
            "A class has 18 girls and 12 boys. What fraction of the class are girls?",
            "How many seconds are there in a day?",
        ),
    ),
)


def build_rows() -> list[dict[str, str]]:
    """Every instruction as ``{"id", "category", "prompt"}``, in a seeded shuffled order with ids in file order."""
    rng = random.Random(SEED)
    rows = []
    for category, templates, fillers in TABLES:
        for filler in fillers:
            rows.append({"category": category, "prompt": rng.choice(templates).format(x=filler)})
    rng.shuffle(rows)
    return [{"id": f"i{n:04d}", **row} for n, row in enumerate(rows, start=1)]


def write(path: Path = OUTPUT) -> Path:
    """Write :func:`build_rows` to ``path`` as JSON Lines (UTF-8, ``\\n`` line ends)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in build_rows())
    path.write_text(text, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUTPUT, help="output file (default: the shipped file)")
    args = parser.parse_args(argv)
    print(write(args.out), len(build_rows()), "instructions", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
