namespace UniCode.Migrations;
