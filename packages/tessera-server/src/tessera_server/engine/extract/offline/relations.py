"""The relations the offline extractor states: how each reads as a sentence, and whether a
subject holds one value at a time (a new one replaces the old: "functional")."""

from __future__ import annotations

RELATIONS: dict[str, tuple[str, bool]] = {
    "lives_in": ("{s} lives in {o}", True),
    "from": ("{s} is from {o}", True),
    "grew_up_in": ("{s} grew up in {o}", True),
    "visited": ("{s} has been to {o}", False),
    "works_at": ("{s} works at {o}", True),
    "works_as": ("{s} works as {o}", True),
    "studies_at": ("{s} studies at {o}", True),
    "studies": ("{s} studies {o}", False),
    "graduated_from": ("{s} graduated from {o}", False),
    "name": ("{s}'s name is {o}", True),
    "age": ("{s} is {o} years old", True),
    "birthday": ("{s}'s birthday is {o}", True),
    "relationship_status": ("{s} is {o}", True),
    "diet": ("{s} is {o}", True),
    "allergic_to": ("{s} is allergic to {o}", False),
    "speaks": ("{s} speaks {o}", False),
    "plays": ("{s} plays {o}", False),
    "has": ("{s} has {o}", False),
    "has_pet": ("{s} has {o}", False),
    "prefers": ("{s} prefers {o}", False),
    "likes": ("{s} likes {o}", False),
    "dislikes": ("{s} dislikes {o}", False),
    "hobby": ("{s}'s hobbies include {o}", False),
}
