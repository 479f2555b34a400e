def instance0():
    print("output without an .exp file")
