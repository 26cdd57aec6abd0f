module onboard

go 1.26.8
