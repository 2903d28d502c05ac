"""Word lists for the stand-in's seed data: Finnish people, places, companies and a wholesale catalogue.

Plain data, no logic: `seed_data.py` combines these into records. Everything here is fictional; e-mail
domains end in `.example` (RFC 2606), so no generated address can reach anyone.
"""

from __future__ import annotations

from typing import NamedTuple

FIRST_NAMES = (
    "Matti", "Pekka", "Juha", "Mikko", "Timo", "Jari", "Antti", "Jukka", "Mika", "Markku", "Heikki", "Ville",
    "Eero", "Ilkka", "Jussi", "Sami", "Hannu", "Seppo", "Tapio", "Olli", "Sari", "Anna", "Maria", "Tiina",
    "Päivi", "Liisa", "Johanna", "Laura", "Riikka", "Aino", "Emma", "Tuula", "Ritva", "Kaisa", "Outi",
    "Kirsi", "Minna", "Jaana", "Sanna", "Eveliina",
)  # fmt: skip

LAST_NAMES = (
    "Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen", "Koskinen",
    "Järvinen", "Lehtonen", "Lehtinen", "Saarinen", "Salminen", "Heinonen", "Niemi", "Heikkilä", "Kinnunen",
    "Salonen", "Turunen", "Salo", "Laitinen", "Tuominen", "Rantanen", "Karjalainen", "Jokinen", "Mattila",
    "Savolainen", "Lahtinen", "Ahonen", "Öhman", "Åberg", "Hietala", "Väisänen", "Pöllänen", "Kärkkäinen",
)  # fmt: skip

#: (city, lowest postal code, highest postal code) of Finnish cities; codes step by 10 in between.
CITIES = (
    ("Helsinki", 100, 990), ("Espoo", 2100, 2980), ("Vantaa", 1300, 1760), ("Tampere", 33100, 33900),
    ("Turku", 20100, 20900), ("Oulu", 90100, 90900), ("Jyväskylä", 40100, 40950), ("Kuopio", 70100, 70900),
    ("Lahti", 15100, 15900), ("Pori", 28100, 28900), ("Rovaniemi", 96100, 96900), ("Vaasa", 65100, 65380),
    ("Joensuu", 80100, 80260), ("Seinäjoki", 60100, 60800), ("Hämeenlinna", 13100, 13900),
    ("Lappeenranta", 53100, 53900), ("Mikkeli", 50100, 50900), ("Kotka", 48100, 48900),
    ("Kajaani", 87100, 87900), ("Kokkola", 67100, 67900), ("Mänttä-Vilppula", 35800, 35820),
)  # fmt: skip

#: A few customers abroad: (street, postal code, city, country code).
FOREIGN_ADDRESSES = (
    ("Storgatan 14", "953 31", "Haparanda", "SE"),
    ("Narva mnt 7", "10117", "Tallinn", "EE"),
    ("Brīvības iela 40", "LV-1050", "Rīga", "LV"),
)

STREETS = (
    "Teollisuuskatu", "Rantatie", "Koulukatu", "Kauppakatu", "Asemakatu", "Hämeenkatu", "Tehtaankatu",
    "Varastokatu", "Konepajankatu", "Satamatie", "Kirkkokatu", "Puistotie", "Myllytie", "Sahatie",
    "Peltotie", "Koivukuja", "Mäntytie", "Pajatie", "Tiilitehtaankatu", "Valimotie", "Urakoitsijantie",
    "Läkkisepäntie", "Sorvaajankatu", "Höyläämötie", "Ratavartijankatu", "Yrittäjäntie",
)  # fmt: skip

#: Site names for delivery addresses: "Työmaa Kalasatama" and the like.
SITES = (
    "Kalasatama", "Hiedanranta", "Niittykumpu", "Lentokenttä", "Keskusta", "Koulu", "Kauppakeskus",
    "Linnanmaa", "Tikkurila", "Kivistö", "Ruskeasanta", "Satama", "Sairaala",
)  # fmt: skip

#: B2B company name patterns; `{s}` is a surname, `{c}` a city.
B2B_COMPANY_PATTERNS = (
    "Rakennus {s} Oy", "Rakennusliike {s} Oy", "{s} & Poika Oy", "Oy {s} Ab", "Sähkö-{s} Oy",
    "Putkityö {s} Ky", "Maalaus {s} Tmi", "Kiinteistöhuolto {s} Oy", "Teräsrakenne {s} Oy",
    "Konepaja {s} Oy", "Rakennuspalvelu {c} Oy", "Remonttiryhmä {s} Oy", "Kattotyö {s} Ky",
    "Lattiapojat {s} Oy", "Infra {c} Oy",
)  # fmt: skip

RESELLER_COMPANY_PATTERNS = ("Rautakauppa {s} Oy", "Työvaate {c} Oy", "Rauta-{s} Ky", "Turvapiste {c} Oy")

#: Hostile company names (`{s}` a surname), for the records that test escaping and limits.
HOSTILE_COMPANY_NAMES = (
    "Rakennus & Remontti {s} Oy",
    "Putki <&> Pelti {s} Oy",
    'Maalaamo "Sävy" {s} Oy',
    "Rock'n'Roll Rakennus {s} Oy",
    "Työmaa 👷‍♀️ {s} Oy",
    "Kukka 🌷 & Kivi {s} Oy",
)

#: Over 300 characters once repeated; for over-long names and descriptions.
LONG_TEXT = (
    "Rakennus-, saneeraus-, remontti- ja kiinteistöhuoltopalvelut sekä maanrakennus, purkutyöt, "
    "asbestipurku, vesieristys, laatoitus, maalaus, tapetointi, kattotyöt, peltisepäntyöt ja "
    "sähköasennukset koko Suomen alueella – myös Ahvenanmaalla, Lapissa ja Itä-Uudellamaalla. "
)

PAYMENT_TERMS = ("NET14", "NET14", "NET30", "NET30", "NET30", "NET45", "NET60", "PREPAID")
CREDIT_LIMITS = ("0.00", "1000.00", "2500.00", "5000.00", "5000.00", "10000.00", "20000.00", "50000.00")

#: (value, code suffix) of colours.
COLOURS = (
    ("Musta", "BLK"), ("Harmaa", "GRY"), ("Laivastonsininen", "NAVY"), ("Oranssi", "ORG"),
    ("Keltainen", "YEL"), ("Punainen", "RED"), ("Valkoinen", "WHT"), ("Vihreä", "GRN"),
    ("Hi-vis keltainen/musta", "YELBLK"),
)  # fmt: skip
CLOTHING_SIZES = ("XS", "S", "M", "L", "XL", "XXL", "3XL", "4XL")
SHOE_SIZES = tuple(str(size) for size in range(35, 49))

SERIES = ("Pro", "Flex", "Arctic", "Basic", "Max", "Duo", "Tuisku", "Kallio", "Routa", "Vahva", "Sisu", "Kide")


class ProductLine(NamedTuple):
    """One kind of product in the catalogue."""

    group: str  # productGroup
    prefix: str  # itemCode prefix
    unit: str
    vat_rate: str
    price_range: tuple[int, int]  # whole euros, inclusive
    #: "SHOE" (Size 35..48), "CLOTH" (Colour + Size), "CLOTH_SIZE" (Size), "COLOUR" (Colour), or ""
    #: for standalone items (GLOVES and SOCKS are sold in sizes that Sonet does not list).
    axes: str
    weight: int  # relative frequency of this line among new products
    no_price_share: float  # share of its items without a list price
    names: tuple[str, ...]
    features: tuple[str, ...]


PRODUCT_LINES = (
    ProductLine("FOOTWEAR", "BOOT", "pr", "25.5", (39, 189), "SHOE", 9, 0.01,
                ("Turvakenkä S3", "Turvasaapas S5", "Talviturvakenkä S3 WR", "Kevyt turvakenkä S1P", "Työkenkä O2"),
                ("Komposiittikärki ja naulaanastumissuoja.", "EN ISO 20345:2022.", "Lämmin villavuori.",
                 "Liukuesteinen pohja SRC.", "ESD-ominaisuus sähkötöihin.")),
    ProductLine("WORKWEAR", "TROU", "kpl", "25.5", (39, 129), "CLOTH", 8, 0.01,
                ("Työhousut riipputaskuilla", "Stretch-työhousut", "Lappuhaalari", "Talvihaalari"),
                ("Cordura-vahvikkeet polvissa.", "Pesunkestävä 60 °C.", "Polvisuojataskut.")),
    ProductLine("WORKWEAR", "JACK", "kpl", "25.5", (49, 249), "CLOTH", 6, 0.01,
                ("Softshell-takki", "Työtakki", "Talvitakki", "Fleecetakki", "Kuoritakki"),
                ("Tuulenpitävä ja vettähylkivä.", "Heijastimet hihoissa.", "Irrotettava huppu.")),
    ProductLine("HIVIS", "HIVIS", "kpl", "25.5", (9, 119), "CLOTH_SIZE", 4, 0.0,
                ("Huomioliivi lk 2", "Huomiotakki lk 3", "Huomio-T-paita lk 2"),
                ("EN ISO 20471.", "Kestää 50 pesua.", "Tarranauhakiinnitys.")),
    ProductLine("SAFETY", "HELM", "kpl", "25.5", (15, 89), "COLOUR", 3, 0.0,
                ("Suojakypärä", "Kiipeilykypärä"), ("EN 397.", "Säädettävä niskapanta.")),
    ProductLine("GLOVES", "GLOVE", "pr", "25.5", (2, 29), "", 8, 0.01,
                ("Työkäsine nitriili", "Nahkakäsine", "Talvityökäsine", "Viiltosuojakäsine", "Asennuskäsine"),
                ("Koot 7–11.", "EN 388:2016 4131X.", "Kosketusnäyttöyhteensopiva.")),
    ProductLine("SOCKS", "SOCK", "pr", "25.5", (5, 25), "", 3, 0.0,
                ("Työsukka villa", "Frotee-työsukka", "Talvisukka merinovilla"), ("Koot 36–48.", "3 paria.")),
    ProductLine("TOOLS", "TOOL", "kpl", "25.5", (5, 149), "", 10, 0.02,
                ("Vasara 600 g", "Ruuvimeisselisarja 6 osaa", "Rautasaha", "Vesivaaka 600 mm", "Mittanauha 5 m",
                 "Sorkkarauta 600 mm", "Kirves", "Lattalimasaha", "Kuulakärkinen kuusiokoloavainsarja"),
                ("Elinikäinen takuu.", "Ergonominen kahva.", "Karkaistu teräs.")),
    ProductLine("POWERTOOLS", "PWR", "kpl", "25.5", (79, 899), "", 5, 0.2,
                ("Akkuporakone 18 V", "Kulmahiomakone 125 mm", "Iskuporakone SDS+", "Käsisirkkeli 190 mm",
                 "Akkuruuvinväännin 12 V", "Rakennuslaser"),
                ("Toimitetaan ilman akkua.", "Hiiliharjaton moottori.", "Salkussa.")),
    ProductLine("FASTENERS", "SCRW", "rs", "25.5", (6, 69), "", 8, 0.01,
                ("Puuruuvi 4,2x55 200 kpl", "Terassiruuvi 4,8x60 A4", "Kipsilevyruuvi 3,9x35", "Kiila-ankkuri M10"),
                ("Kuumasinkitty.", "Haponkestävä.", "Torx-kanta.")),
    ProductLine("FASTENERS", "NAIL", "kg", "25.5", (3, 12), "", 3, 0.02,
                ("Kuumasinkitty naula 75 mm", "Huopanaula 25 mm", "Konenaula 2,8x75 irto"), ("Irtomyynti.",)),
    ProductLine("ELECTRICAL", "CABLE", "m", "25.5", (1, 9), "", 4, 0.02,
                ("MMJ 3x2,5S kaapeli", "MMJ 5x1,5S kaapeli", "Jatkojohto kumi 3G1,5", "Maakaapeli AXMK 4x25"),
                ("Myydään metreittäin.", "Kela 100 m.")),
    ProductLine("BUILDING", "TIMB", "m", "25.5", (1, 12), "", 5, 0.03,
                ("Höylätty kuusi 42x92", "Painekyllästetty 28x95", "Rakennuspuu 48x148 C24"),
                ("Myydään metreittäin.", "Kuivattu 18 %.")),
    ProductLine("BUILDING", "INSUL", "m2", "25.5", (2, 30), "", 3, 0.03,
                ("Mineraalivilla 50 mm", "Tuulensuojalevy 25 mm", "Kosteussulkumuovi 0,2 mm"), ("Paloluokka A1.",)),
    ProductLine("BUILDING", "MORT", "kg", "25.5", (1, 4), "", 2, 0.05,
                ("Muurauslaasti irto", "Lattiatasoite irto"), ("Irtomyynti suursäkistä.",)),
    ProductLine("PAINTS", "PAINT", "l", "25.5", (9, 59), "", 3, 0.02,
                ("Ulkomaali sävytettävä", "Puuöljy", "Pohjamaali"), ("Sävytetään tilauksesta.",)),
    ProductLine("HOSES", "HOSE", "m", "25.5", (1, 15), "", 2, 0.0,
                ('Paineilmaletku 10 mm 3/8"', 'Puutarhaletku 3/4"'), ("Myydään metreittäin.",)),
    ProductLine("FIRSTAID", "AID", "kpl", "25.5", (4, 120), "", 2, 0.0,
                ("Ensiapulaukku työmaalle", "Laastaripakkaus", "Silmähuuhdepullo"), ("Sisältölista kannessa.",)),
    ProductLine("BOOKS", "BOOK", "kpl", "10", (19, 79), "", 1, 0.0,
                ("Työturvallisuuskortti-oppikirja", "Tulityökortti-opas", "RT-ohjekortisto"), ("Painettu kirja.",)),
    ProductLine("BREAKROOM", "COFF", "kpl", "14", (4, 19), "", 1, 0.0,
                ("Kahvi 500 g", "Kaakaojauhe 1 kg", "Keksilajitelma"), ("Taukotilaan.",)),
    ProductLine("VOUCHERS", "GIFT", "kpl", "0", (25, 100), "", 1, 0.0,
                ("Lahjakortti", "EUR-lava, pantti"), ("Ei arvonlisäveroa.",)),
)  # fmt: skip
