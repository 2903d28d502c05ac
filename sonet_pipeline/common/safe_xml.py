"""XML parsing that refuses DTDs and entities before libxml2 ever sees them.

libxml2 reads an external parameter entity from disk even with `resolve_entities=False` and
`load_dtd=False` (field notes), so a document with a DOCTYPE or ENTITY declaration is refused by
looking at its text first, and the parser also gets a resolver that denies everything.
"""

from __future__ import annotations

from lxml import etree


class UnsafeXmlError(ValueError):
    """The document is not well-formed UTF-8 XML, or declares a DTD or entities."""


class _DenyAllResolver(etree.Resolver):
    # lxml-stubs give Resolver.resolve no `context` parameter; lxml passes one.
    def resolve(self, system_url: str, public_id: str, context: object) -> None:  # type: ignore[override]
        raise UnsafeXmlError(f"external resource refused: {system_url!r}")


def _parser() -> etree.XMLParser:
    parser = etree.XMLParser(
        encoding="utf-8",
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_comments=False,
    )
    parser.resolvers.add(_DenyAllResolver())
    return parser


def parse_xml(data: bytes) -> etree._Element:
    """Parse a UTF-8 document; raise `UnsafeXmlError` naming the problem."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeXmlError(f"not UTF-8 at byte {exc.start}") from None
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise UnsafeXmlError("a DOCTYPE or ENTITY declaration is not allowed")
    if "\x00" in text:
        raise UnsafeXmlError("a NUL character is not allowed in XML")
    try:
        return etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise UnsafeXmlError(f"not well-formed: {exc}") from None
