namespace UniCode.Data;
