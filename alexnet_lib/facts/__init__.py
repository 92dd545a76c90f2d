"""The fact check: what the 2012 AlexNet paper states, each fact with its section or table
(:mod:`.paper`); claims, the checks that test them and the verdict that follows
(:mod:`.evidence`); facts read off the models, such as shapes, parameter counts and layer order
(:mod:`.model_facts`); and the checkable claims of the five blog posts, about AlexNet's own
layers (:mod:`.factcheck_alexnet`) and about everything around it (:mod:`.factcheck_context`),
gathered into one table with computed evidence and verdicts (:mod:`.factcheck`). Import each
module by name; the package itself imports nothing.
"""
