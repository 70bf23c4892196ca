"""Idiom rules (IDM): the Hettinger pass — say it the Pythonic way, which is also the fast way."""
