"""Build ``questions.json``: a small hand-written calibration set in SQuAD 2.0 format.

Twelve encyclopedic paragraphs (six articles, two paragraphs each), written for tunesmith in
the style of Wikipedia, with about ten questions each written the way the SQuAD 2.0
crowdworkers wrote theirs: answerable questions paraphrase the paragraph and are answered by the
shortest exact span of it; unanswerable questions (a little over half) stay on topic and look
answerable, mostly edits of an answerable question (negation, antonym, entity swap, mutual
exclusion, impossible condition) or questions the paragraph simply does not answer.

The questions are used only to choose the abstention threshold (``guard.calibrate.dataset``),
never for training or for the score. None of the articles is in the SQuAD sample the model is
tested on (``Normans``, ``Computational_complexity_theory``), and none of the topics is near
them.

Run from the repository root::

    python examples/squad-sample/calibration/build_questions.py

The comment after each unanswerable question names the edit that made it unanswerable: negation,
antonym, swap (an entity, date or number replaced), exclusion (mutual exclusion: "never",
"fail to"), condition (a date or condition the paragraph does not cover) or neutral (on topic, but
not answered).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "questions.json"

# (article title, paragraph text)
PARAGRAPHS: list[tuple[str, str]] = [
    (
        "Danube",
        "The Danube is the second-longest river in Europe after the Volga, flowing for about "
        "2,850 kilometres (1,770 mi) from the Black Forest of southwestern Germany to the Black "
        "Sea. It is formed at Donaueschingen, where the two headstreams Brigach and Breg meet, "
        "and then runs generally eastward through or along the borders of ten countries: "
        "Germany, Austria, Slovakia, Hungary, Croatia, Serbia, Romania, Bulgaria, Moldova and "
        "Ukraine. Four national capitals lie on its banks, namely Vienna, Bratislava, Budapest "
        "and Belgrade, more than on any other river in the world. Its drainage basin covers "
        "roughly 801,000 square kilometres and reaches into nine further countries, including "
        "Switzerland, Italy and Poland. Its largest tributary by discharge is the Sava, which "
        "joins it at Belgrade, while the longest is the Tisza, which enters further upstream "
        "in northern Serbia.",
    ),
    (
        "Danube",
        "Below Belgrade the river cuts through the Iron Gates, a gorge about 134 kilometres long "
        "that forms part of the border between Serbia and Romania. Its rapids hindered shipping "
        "until the two countries jointly built the Iron Gate I Hydroelectric Power Station, "
        "completed in 1972, whose dam raised the water level and flooded the island of Ada "
        "Kaleh. A second, smaller plant, Iron Gate II, followed downstream in 1984. Near the "
        "Romanian city of Tulcea the Danube divides into three main branches, the Chilia, the "
        "Sulina and the St. George, which form the Danube Delta, the second-largest river delta "
        "in Europe. About 83 percent of the delta's 4,152 square kilometres lies in Romania and "
        "the rest in Ukraine. The delta was declared a UNESCO World Heritage Site in 1991 and "
        "shelters more than 300 species of birds.",
    ),
    (
        "Titanium",
        "Titanium is a chemical element with the symbol Ti and atomic number 22. It was "
        "discovered in 1791 by William Gregor, a clergyman and amateur geologist, in black sand "
        "from a stream valley in Cornwall, England. Four years later the German chemist Martin "
        "Heinrich Klaproth independently identified the element in the mineral rutile and named "
        "it after the Titans of Greek mythology. Titanium is the ninth most abundant element in "
        "the Earth's crust, making up about 0.63 percent of it by mass, and occurs chiefly in "
        "the minerals ilmenite and rutile. The metal has a density of about 4.5 grams per cubic "
        "centimetre, some 45 percent lighter than steel, and melts at 1,668 °C. Because it "
        "bonds readily with oxygen, nitrogen and carbon, samples pure enough to be useful were "
        "not obtained until 1910, when Matthew A. Hunter heated titanium tetrachloride with "
        "sodium.",
    ),
    (
        "Titanium",
        "Large-scale production became possible only after William Justin Kroll, a "
        "metallurgist from Luxembourg, developed a method in 1940 of reducing titanium "
        "tetrachloride with magnesium; the Kroll process remains the main commercial route. "
        "Even so, only about 5 percent of mined titanium ore ends up as metal. The rest, some "
        "95 percent, is refined into titanium dioxide, a bright white pigment used in paints, "
        "paper, plastics, toothpaste and sunscreens. The metal's high strength-to-weight ratio "
        "and resistance to corrosion made it valuable to the aerospace industry from the 1950s "
        "onward; the Lockheed SR-71 Blackbird reconnaissance aircraft, first flown in 1964, had "
        "an airframe that was about 85 percent titanium. The most widely used alloy, Ti-6Al-4V, "
        "contains 6 percent aluminium and 4 percent vanadium and accounts for roughly half of "
        "all titanium used. China is today the largest producer of titanium sponge.",
    ),
    (
        "Arctic_tern",
        "The Arctic tern (Sterna paradisaea) is a seabird of the gull and tern family Laridae "
        "that breeds in the Arctic and sub-Arctic regions of Europe, Asia and North America. It "
        "is a medium-sized tern, 33 to 36 centimetres long with a wingspan of 76 to 85 "
        "centimetres, and has mostly grey and white plumage, a red bill and legs, and a black "
        "cap. Pairs usually mate for life and nest in colonies on coasts and islands, laying "
        "one to three eggs in a shallow scrape on the ground, and both parents incubate them "
        "for 22 to 27 days. Adults defend their nests aggressively and will attack humans and "
        "large predators, usually striking the top of the intruder's head. The species is "
        "long-lived: a bird ringed as a chick on the Farne Islands of England in 1980 was found "
        "alive there in 2014, at the age of 34.",
    ),
    (
        "Arctic_tern",
        "The Arctic tern makes the longest regular migration of any animal, travelling each "
        "year from its northern breeding grounds to the seas around Antarctica and back, and so "
        "sees two summers a year. A 2010 study that fitted birds from colonies in Greenland and "
        "Iceland with geolocators weighing 1.4 grams found that they flew an average of about "
        "70,900 kilometres on the round trip, following an S-shaped route down the Atlantic "
        "rather than a direct path. Terns from the Netherlands tracked in a later study covered "
        "up to 91,000 kilometres, travelling by way of the Indian Ocean and Australia. Over a "
        "lifetime of about 30 years the distance flown may exceed 2.4 million kilometres, "
        "equivalent to three return trips to the Moon. On its wintering grounds the bird feeds "
        "at the edge of the pack ice, taking small fish and krill.",
    ),
    (
        "Panama_Canal",
        "The Panama Canal is an artificial waterway of about 82 kilometres that crosses the "
        "Isthmus of Panama and connects the Atlantic Ocean, by way of the Caribbean Sea, with "
        "the Pacific Ocean. A first attempt to build a sea-level canal was begun in 1881 by a "
        "French company led by Ferdinand de Lesseps, the developer of the Suez Canal, but "
        "engineering problems and the high death rate from yellow fever and malaria ruined the "
        "company, and work stopped in 1889. The United States took over the project in 1904 "
        "after supporting Panama's separation from Colombia the year before. Under the chief "
        "engineer George Washington Goethals, appointed in 1907, the Americans built a lock "
        "canal instead, while the physician William C. Gorgas led a campaign against mosquitoes "
        "that largely eliminated yellow fever from the zone. The canal opened on 15 August "
        "1914, when the steamship SS Ancon made the first official transit.",
    ),
    (
        "Panama_Canal",
        "Ships are raised about 26 metres from sea level to Gatun Lake by three sets of locks, "
        "the Gatun Locks on the Atlantic side and the Pedro Miguel and Miraflores Locks on the "
        "Pacific side. The lake was formed by damming the Chagres River and was, at the time of "
        "its creation, the largest artificial lake in the world. Between the lake and the "
        "Pacific locks, the Culebra Cut, also called the Gaillard Cut after the engineer David "
        "du Bose Gaillard, carries ships through the continental divide. Under the "
        "Torrijos–Carter Treaties signed in 1977, control of the canal passed from the United "
        "States to Panama on 31 December 1999. An expansion programme approved by referendum "
        "in 2006 added a third lane of larger locks, which opened on 26 June 2016 and admit "
        "Neopanamax ships carrying up to about 14,000 twenty-foot containers.",
    ),
    (
        "Neptune",
        "Neptune is the eighth and farthest known planet from the Sun, orbiting at an average "
        "distance of about 30 astronomical units, or 4.5 billion kilometres. It was the first "
        "planet found by prediction rather than by chance observation: irregularities in the "
        "orbit of Uranus led the French astronomer Urbain Le Verrier to calculate the position "
        "of an unseen planet, and on 23 September 1846 Johann Gottfried Galle found it at the "
        "Berlin Observatory within about one degree of the predicted place. The English "
        "astronomer John Couch Adams had made similar calculations independently. Neptune is "
        "about 17 times as massive as Earth and slightly more massive than Uranus, although its "
        "diameter of about 49,500 kilometres is a little smaller. It takes about 165 years to "
        "orbit the Sun, and it completed its first full orbit since its discovery in 2011.",
    ),
    (
        "Neptune",
        "Neptune has been visited by only one spacecraft, Voyager 2, which flew about 4,950 "
        "kilometres above its north pole on 25 August 1989. The probe photographed the Great "
        "Dark Spot, a storm roughly the size of Earth in the southern hemisphere, but when the "
        "Hubble Space Telescope observed the planet in 1994 the spot had disappeared. Neptune's "
        "winds are the fastest measured on any planet in the Solar System, reaching about "
        "2,100 kilometres per hour. Its largest moon, Triton, was discovered by William Lassell "
        "on 10 October 1846, only 17 days after the planet itself. Triton is the only large "
        "moon in the Solar System that orbits in the direction opposite to its planet's "
        "rotation, which suggests it is a captured object from the Kuiper belt. Voyager 2 "
        "measured its surface temperature at about −235 °C and observed plumes of nitrogen gas "
        "erupting from its south polar cap.",
    ),
    (
        "Saxophone",
        "The saxophone is a family of single-reed woodwind instruments with a conical body "
        "usually made of brass. It was invented in the early 1840s by Adolphe Sax, a Belgian "
        "instrument maker born in Dinant in 1814, who moved to Paris in 1842. Sax wanted an "
        "instrument that would combine the power of brass instruments with the agility of "
        "woodwinds and would bridge the gap between the two sections of a military band. He "
        "received a fifteen-year patent on 28 June 1846 covering fourteen versions of the "
        "instrument in two series. The composer Hector Berlioz praised the new instrument in an "
        "article published in 1842, and French army bands adopted it in 1845 after a public "
        "contest in Paris. From 1857 Sax taught a saxophone class at the Paris Conservatoire "
        "until it was closed in 1870 during the Franco-Prussian War.",
    ),
    (
        "Saxophone",
        "The most common members of the family are the soprano, alto, tenor and baritone "
        "saxophones; the alto and baritone are pitched in E-flat and the soprano and tenor in "
        "B-flat. Although Sax meant it for orchestras as well, the saxophone was rarely used in "
        "classical music in the nineteenth century, and its classical repertoire grew mainly "
        "after 1900, helped by the French saxophonist Marcel Mule, who became the Paris "
        "Conservatoire's saxophone professor in 1942. Maurice Ravel gave solos to tenor and "
        "soprano saxophones in Boléro (1928). The instrument became central to jazz in the "
        "1920s and 1930s: Coleman Hawkins established the tenor saxophone as a solo voice with "
        'his 1939 recording of "Body and Soul", and later players such as the alto saxophonist '
        "Charlie Parker and the tenor saxophonist John Coltrane became among the most "
        "influential musicians of the century. Sax himself died in Paris in 1894.",
    ),
]

# per paragraph, in the order of PARAGRAPHS: (question, answer span, or None when unanswerable)
QUESTIONS: list[list[tuple[str, str | None]]] = [
    [  # Danube 0
        ("Which European river is longer than the Danube?", "Volga"),
        ("Roughly how far does the Danube flow?", "2,850 kilometres"),
        ("In what town do the Brigach and Breg come together?", "Donaueschingen"),
        ("How many nations does the Danube pass through or border?", "ten"),
        ("What is the third-longest river in Europe?", None),  # swap
        ("Which national capital does not lie on the Danube?", None),  # negation
        ("In what town do the Sava and Tisza meet?", None),  # swap
        ("What is the shortest tributary of the Danube?", None),  # antonym
        ("Which tributary joins the Danube at Budapest?", None),  # swap
    ],
    [  # Danube 1
        ("Which two countries does the Iron Gates gorge separate?", "Serbia and Romania"),
        ("What island was submerged when the Iron Gate I dam raised the river?", "Ada Kaleh"),
        ("When was the second power plant at the Iron Gates finished?", "1984"),
        ("Near which city does the Danube split into three arms?", "Tulcea"),
        ("What island was flooded when Iron Gate II was built?", None),  # swap
        ("What is the largest river delta in Europe?", None),  # antonym
        ("Which branch of the Danube does not form part of the delta?", None),  # negation
        ("What hindered shipping through the Iron Gates after 1972?", None),  # condition
        ("Who designed the Iron Gate I Hydroelectric Power Station?", None),  # neutral
    ],
    [  # Titanium 0
        ("Who first discovered titanium?", "William Gregor"),
        ("In which part of England was titanium first found?", "Cornwall"),
        ("Which German chemist gave titanium its name?", "Martin Heinrich Klaproth"),
        ("How much of the Earth's crust by weight is titanium?", "0.63 percent"),
        ("At what temperature does titanium melt?", "1,668 °C"),
        ("Which mineral did Klaproth name after the Titans?", None),  # swap
        ("What is the least abundant element in the Earth's crust?", None),  # antonym
        ("Who named titanium in 1791?", None),  # swap
        ("What did Matthew A. Hunter heat titanium tetrachloride with in 1940?", None),  # swap
        ("At what temperature does titanium boil?", None),  # antonym
    ],
    [  # Titanium 1
        ("What country was William Justin Kroll from?", "Luxembourg"),
        ("What does the Kroll process use to reduce titanium tetrachloride?", "magnesium"),
        ("What share of mined titanium ore is turned into metal?", "5 percent"),
        ("In what year did the SR-71 Blackbird make its first flight?", "1964"),
        ("Which country produces the most titanium sponge?", "China"),
        ("What did Kroll develop in 1910?", None),  # swap
        ("What is the least widely used titanium alloy?", None),  # antonym
        ("What fraction of the SR-71's airframe was aluminium?", None),  # swap
        ("What was the main commercial route for making titanium before 1940?", None),  # condition
        ("Which country is the largest producer of titanium dioxide?", None),  # swap
    ],
    [  # Arctic tern 0
        ("What is the Arctic tern's scientific name?", "Sterna paradisaea"),
        ("How wide are the Arctic tern's outstretched wings?", "76 to 85 centimetres"),
        ("What colour are the bird's beak and legs?", "red"),
        ("How long do Arctic terns sit on their eggs?", "22 to 27 days"),
        ("How old was the tern ringed on the Farne Islands in 2014?", None),  # swap
        ("What is the smallest tern in the family Laridae?", None),  # antonym
        ("Which parent does not incubate the eggs?", None),  # exclusion
        ("Where do Arctic terns breed in Africa?", None),  # swap
        ("Which predators do adult Arctic terns never attack?", None),  # exclusion
        ("What colour is the Arctic tern's cap in winter?", None),  # condition
    ],
    [  # Arctic tern 1
        ("How much did the tracking devices in the 2010 study weigh?", "1.4 grams"),
        ("What was the average round-trip distance measured in 2010?", "70,900 kilometres"),
        ("What shape was the route the tracked terns took down the Atlantic?", "S-shaped"),
        ("How far did terns from the Netherlands fly?", "91,000 kilometres"),
        ("What do Arctic terns feed on in their wintering grounds?", "small fish and krill"),
        ("How much did the geolocators fitted to Dutch terns weigh?", None),  # swap
        ("What is the shortest distance an Arctic tern may fly in its lifetime?", None),  # antonym
        ("A tern's lifetime distance is equal to how many return trips to Mars?", None),  # swap
        ("What do Arctic terns not eat on their wintering grounds?", None),  # negation
        ("How many Arctic terns were fitted with geolocators in 2010?", None),  # neutral
    ],
    [  # Panama Canal 0
        (
            "Who headed the French company that first tried to dig the canal?",
            "Ferdinand de Lesseps",
        ),
        ("In what year did the French abandon work on the canal?", "1889"),
        ("From which country did Panama break away?", "Colombia"),
        ("Who became chief engineer in 1907?", "George Washington Goethals"),
        ("Which vessel made the first official passage through the canal?", "SS Ancon"),
        ("Which canal had George Washington Goethals developed?", None),  # swap
        ("When did the canal close?", None),  # antonym
        ("Which disease did William C. Gorgas fail to eliminate?", None),  # exclusion
        ("Who was chief engineer before 1907?", None),  # condition
        ("Which country took over the project in 1889?", None),  # swap
    ],
    [  # Panama Canal 1
        ("How high are ships lifted to reach Gatun Lake?", "26 metres"),
        ("Which river was dammed to create Gatun Lake?", "Chagres River"),
        ("What is the other name for the Culebra Cut?", "Gaillard Cut"),
        ("On what date did Panama take control of the canal?", "31 December 1999"),
        ("When did the larger new locks open?", "26 June 2016"),
        ("What was the smallest artificial lake in the world?", None),  # antonym
        ("Which river was dammed at Miraflores?", None),  # swap
        ("Which ships are not admitted by the new locks?", None),  # negation
        ("What treaties were signed in 1999?", None),  # swap
        ("How many containers could ships using the canal carry before 2016?", None),  # condition
        ("After whom are the Pedro Miguel Locks named?", None),  # neutral
    ],
    [  # Neptune 0
        ("How far is Neptune from the Sun on average, in kilometres?", "4.5 billion kilometres"),
        ("The orbit of which planet hinted at the existence of Neptune?", "Uranus"),
        ("Which French astronomer worked out where Neptune should be?", "Urbain Le Verrier"),
        ("At which observatory was Neptune first seen?", "Berlin Observatory"),
        ("When was Neptune discovered?", "23 September 1846"),
        ("Who found Uranus at the Berlin Observatory?", None),  # swap
        ("Which planet is the closest known to the Sun?", None),  # antonym
        ("Which English astronomer found Neptune in 1846?", None),  # swap
        ("Which planets were not found by prediction?", None),  # negation
        ("How many times Earth's diameter is Neptune?", None),  # swap
    ],
    [  # Neptune 1
        ("Which is the only spacecraft to have visited Neptune?", "Voyager 2"),
        ("When did Voyager 2 fly past Neptune?", "25 August 1989"),
        ("What telescope showed that the Great Dark Spot had vanished?", "Hubble Space Telescope"),
        ("How fast can Neptune's winds blow?", "2,100 kilometres per hour"),
        ("What gas did Voyager 2 see erupting on Triton?", "nitrogen"),
        ("When did Voyager 1 fly past Neptune?", None),  # swap
        ("In which hemisphere was the Great Dark Spot in 1994?", None),  # condition
        ("Which large moon does not orbit opposite to its planet's rotation?", None),  # negation
        ("Who discovered Neptune's second-largest moon?", None),  # swap
        ("What temperature did Voyager 2 measure on Neptune's surface?", None),  # swap
    ],
    [  # Saxophone 0
        ("What metal are saxophones usually made of?", "brass"),
        ("In what town was the saxophone's inventor born?", "Dinant"),
        ("On what date was the saxophone patented?", "28 June 1846"),
        ("How many versions of the instrument did the patent cover?", "fourteen"),
        ("Which composer wrote in praise of the saxophone in 1842?", "Hector Berlioz"),
        ("Who received a fourteen-year patent on 28 June 1846?", None),  # swap
        ("When did French army bands abandon the saxophone?", None),  # antonym
        ("In what year did Hector Berlioz move to Paris?", None),  # swap
        ("Which bands did not adopt the saxophone in 1845?", None),  # negation
        ("Who taught saxophone at the Paris Conservatoire before 1857?", None),  # condition
    ],
    [  # Saxophone 1
        ("In what key is the tenor saxophone pitched?", "B-flat"),
        ("Who became saxophone professor at the Paris Conservatoire in 1942?", "Marcel Mule"),
        ("In which work by Ravel do tenor and soprano saxophones play solos?", "Boléro"),
        ("Which recording made the tenor saxophone a solo voice in jazz?", "Body and Soul"),
        ("In what year did Adolphe Sax die?", "1894"),
        ("In what key is the bass saxophone pitched?", None),  # swap
        ("Who became the Paris Conservatoire's saxophone professor in 1870?", None),  # swap
        ("Which recording did John Coltrane make in 1939?", None),  # swap
        ("Which saxophones are not common members of the family?", None),  # negation
        ("When did the classical repertoire for the saxophone shrink?", None),  # antonym
        ("Who used the saxophone in classical music before 1900?", None),  # condition
    ],
]


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def build() -> dict:
    if len(QUESTIONS) != len(PARAGRAPHS):
        sys.exit(f"{len(PARAGRAPHS)} paragraphs but {len(QUESTIONS)} question lists")
    articles: dict[str, list[dict]] = {}
    seen: set[str] = set()
    for (title, context), qas in zip(PARAGRAPHS, QUESTIONS, strict=True):
        paragraphs = articles.setdefault(title, [])
        p_index = len(paragraphs)
        records = []
        for q_index, (question, answer) in enumerate(qas):
            qid = f"{slug(title)}/{p_index}/{q_index}"
            if qid in seen:
                sys.exit(f"duplicate question id {qid!r} ({title}, paragraph {p_index})")
            seen.add(qid)
            answers = []
            if answer is not None:
                start = context.find(answer)
                if start < 0:
                    sys.exit(
                        f"{title}, paragraph {p_index}: answer {answer!r} to {question!r} "
                        "is not in the paragraph"
                    )
                answers = [{"text": answer, "answer_start": start}]
            records.append(
                {
                    "id": qid,
                    "question": question,
                    "is_impossible": answer is None,
                    "answers": answers,
                }
            )
        paragraphs.append({"context": context, "qas": records})
    data = [{"title": t, "paragraphs": ps} for t, ps in articles.items()]
    return {"version": "v2.0", "data": data}


def main() -> None:
    squad = build()
    qas = [q for a in squad["data"] for p in a["paragraphs"] for q in p["qas"]]
    impossible = sum(q["is_impossible"] for q in qas)
    n_paragraphs = sum(len(a["paragraphs"]) for a in squad["data"])
    OUT.write_text(json.dumps(squad, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
    print(
        f"questions: {len(qas)}, unanswerable: {impossible} ({100 * impossible / len(qas):.1f}%), "
        f"paragraphs: {n_paragraphs}, articles: {len(squad['data'])}"
    )


if __name__ == "__main__":
    main()
