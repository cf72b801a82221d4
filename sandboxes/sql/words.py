"""The built-in word list for `words` columns (titles, names). Changing it changes generated data:
bump `generate.GENERATOR_VERSION` when you do."""

_TEXT = """
    amber anchor april arrow autumn balance banner barrel beacon bell birch bitter blue border bottle
    branch brave breeze bridge bright broken bronze brook cabin candle canyon carbon castle cedar chalk
    channel cherry circle citadel clay clear clever cloud coast cobalt comet copper coral cotton crane
    crimson crystal current dawn deep delta desert diamond distant dove dragon dream drift dusk eagle
    early echo ember empire engine evening falcon feather fern field final fire flame flint forest fox
    frost garden gentle ghost giant glass golden granite grass gravel green harbor harvest hazel heart
    hidden hill hollow honey horizon hunter iron island ivory jade jasmine journey jungle keeper kettle
    lake lantern last late lemon light lily lion little lonely lost lucky lunar maple marble meadow
    merchant midnight mill mirror mist moon morning mountain narrow night noble north oak ocean olive
    orange orchard paper path pearl pebble pepper pine planet pocket quiet rain raven red ribbon river
    road robin rose ruby rust saddle salt sand scarlet secret shadow shell silent silver sky slate small
    smoke snow solar spark spring star steel stone storm summer sun swift thunder tide tiger timber
    tower trail valley velvet violet voyage walnut wander water wave whisper white wild willow wind
    winter wolf wonder yellow young zephyr
"""

WORDS: tuple[str, ...] = tuple(_TEXT.split())
