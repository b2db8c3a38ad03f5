module heapsim.test/freeos

go 1.19
