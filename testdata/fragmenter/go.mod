module heapsim.test/fragmenter

go 1.19
