// Diagnostics of StateMisuse.cs
FUSED006 Error StateMisuse.cs(10,21)-(10,27): Rule 'TestRule' never assigns its parameter 'param'
FUSED003 Error StateMisuse.cs(10,75)-(10,76): State 'm' is read but never written, so it is always zero; assign it in the rule or remove it
FUSED003 Error StateMisuse.cs(10,96)-(10,97): State 'v' is read but never written, so it is always zero; assign it in the rule or remove it
FUSED014 Warning StateMisuse.cs(10,117)-(10,118): State 'w' is written but never read; it costs 4 bytes per parameter for nothing
FUSED004 Warning StateMisuse.cs(10,138)-(10,144): State 'unused' is never read or written; remove it to save 4 bytes per parameter
