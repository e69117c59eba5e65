print("seqtool")
