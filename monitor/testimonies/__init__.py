"""Finding testimonies among the posts and guarding the children in them.

The model and the rule signals score text; safeguarding and faces flag what may identify
a child. Every write they lead to goes through `monitor.archive`.
"""
