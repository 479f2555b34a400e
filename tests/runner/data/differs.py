# Its .exp expects something else: a failure with a diff.
def instance0():
    print("one")
    print("two")
