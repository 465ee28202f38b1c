module soxrsurvey

go 1.26
