namespace UniCode.Contracts;
