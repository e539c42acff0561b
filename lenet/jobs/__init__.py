"""Jobs: the runs database, launching and watching training and teaching jobs, the job itself,
the catalog of servable models, and the one pipeline from a config to a saved model.
"""
