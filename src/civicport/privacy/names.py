"""Word lists the scanner uses: common given names, and words in column names and categories.

The given names are a hand-written list of about 200 first names common in the United States
(men's and women's, several generations). They only raise confidence that a column of
capitalised words holds people's names; they are not meant to be complete.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


GIVEN_NAMES = _words(
    """
    aaron abigail adam adrian aisha alan albert alejandro alex alexander alexis alice alicia
    allison amanda amber amy ana andrea andrew angela anna anne anthony antonio april ashley
    barbara benjamin betty beverly billy bobby brandon brenda brian brittany bruce bryan
    carl carlos carmen carol carolyn catherine charles cheryl christina christine christopher
    cynthia daniel danielle david deborah debra denise dennis diana diane donald donna dorothy
    douglas dylan edward elizabeth emily emma eric erica eugene evelyn frances francisco frank
    gary george gloria grace gregory hannah harold heather helen henry isabella jack jacob
    jacqueline james jamal jane janet janice jason jean jeffrey jennifer jeremy jerry jesse
    jessica joan joe john johnny jonathan jorge jose joseph joshua joyce juan judith judy julia
    julie justin karen katherine kathleen kathryn kayla keith kelly kenneth kevin kimberly
    kyle larry laura lauren lawrence linda lisa logan lori louis luis madison margaret maria
    marie marilyn mark martha martin mary matthew megan melissa michael michelle miguel
    mildred nancy natalie nathan nicholas nicole noah olivia pamela patricia patrick paul
    pedro peter philip rachel ralph randy raymond rebecca richard robert roger ronald rose
    roy russell ruth ryan samantha samuel sandra sara sarah scott sean sharon shirley sophia
    stephanie stephen steven susan teresa terry theresa thomas timothy tyler victoria vincent
    virginia walter wayne william willie zachary latoya tamika keisha darnell deshawn tyrone
    jamal malik ebony shanice andre marcus terrence dwayne cedric lamar rosa guadalupe
    yolanda veronica javier ricardo manuel rafael fernando alberto roberto sergio eduardo
    wei li mei ming hui jun mohammed muhammad ahmed fatima ali omar hassan
    """
)

# Words in a column's name that suggest it names a person.
PERSON_WORDS = _words(
    """
    name names fullname firstname lastname surname givenname forename first last middle
    employee employees officer officers owner owners complainant complainants victim victims
    suspect suspects offender offenders arrestee defendant plaintiff respondent petitioner
    driver drivers witness witnesses applicant applicants inspector investigator person
    people resident residents tenant tenants landlord patient patients client clients
    contact decedent deceased student students teacher voter voters requester requestor
    reporter caller spouse parent guardian child member members worker staff supervisor
    manager agent attorney physician doctor nurse
    """
)

# Words that make a name column about something other than a person.
NOT_PERSON_WORDS = _words(
    """
    street st road avenue ave business businesses dba aka company companies corporation
    firm restaurant establishment facility facilities agency department dept division
    organization org program project park school building station site place location
    venue store shop vendor product brand neighborhood neighbourhood district city county
    state town township community area region route bridge highway ward precinct beat
    file title position job type category class species breed team event committee
    board dataset layer field account plan license permit project fund contract property
    development complex apartment apartments housing
    """
)

# Words in a column's name that suggest free-text notes.
NOTE_WORDS = _words(
    """
    note notes comment comments narrative narratives remark remarks memo summary details
    detail observation observations statement statements synopsis
    """
)
# Phrases (in the lower-cased display name) that suggest free-text notes.
NOTE_PHRASES = ("description of incident", "incident description", "free text", "freetext")

# Words in a dataset's category that make exact locations sensitive.
SENSITIVE_CATEGORY_WORDS = _words(
    """
    police policing crime crimes criminal health healthcare medical hospital hospitals
    justice court courts corrections correctional jail jails prison prisons ems emergency
    911 victim victims abuse overdose overdoses drug drugs death deaths mortality mental
    welfare homeless homelessness shelter shelters domestic violence arrest arrests
    """
)
SENSITIVE_CATEGORY_PHRASES = (
    "public safety",
    "social services",
    "human services",
    "child welfare",
)

# Words in a number column's name that mark it as a count in an aggregate table …
COUNT_WORDS = _words(
    "count counts total totals n num number cnt freq frequency tally cases incidents"
)
# … unless the name says it is money or a measure.
NOT_COUNT_WORDS = _words(
    """
    fee fees cost costs amount amounts salary salaries pay price prices value values paid
    dollars usd budget revenue area sq sqft feet ft acres miles mi id year years phone
    zip code percent pct rate ratio score street house address permit case parcel unit
    route account suite apt lot block
    """
)

LATITUDE_WORDS = _words("latitude lat y point_y")
LONGITUDE_WORDS = _words("longitude lon lng long x point_x")
SSN_WORDS = _words("ssn ssns social_security socialsecurity soc_sec")
PHONE_WORDS = _words("phone phones telephone tel fax mobile cell cellphone")

# Words that make a capitalised value a business, not a person ('PEPPER CONSTRUCTION CO.').
BUSINESS_WORDS = _words(
    """
    inc llc llp ltd lp co corp corporation company companies construction contractors
    contracting builders group services service associates partners partnership bank
    church center centre apartments homes manor commons senior restaurant cafe grill bar
    foods market store hotel club trust foundation university college school hospital
    department city county state authority agency management properties realty enterprises
    industries international systems solutions technologies electric plumbing roofing
    pizza pizzeria tacos taqueria deli bakery kitchen pub tavern salon barber auto motors
    liquors liquor wine cleaners laundromat pharmacy clinic studio
    """
)
# A person word other than the generic "name": the column surely names people.
GENERIC_PERSON_WORDS = _words("name names")
