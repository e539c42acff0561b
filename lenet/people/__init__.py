"""People's digits: collections of kept digits, teaching a model someone's hand, and the
instant memory of a collection.
"""
